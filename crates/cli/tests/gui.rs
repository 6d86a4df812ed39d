//! KolibriOS input and headless windows (issue 13, items 5 and 6) with real guests: timed keys,
//! buttons and the mouse from the command line and from scenarios; a guest that waits for
//! input that never comes is a deadlock "waiting for input"; screenshots are PNGs whose pixels
//! show what the guest drew where the kernel would draw it.

use std::path::{Path, PathBuf};
use std::process::Command;
mod common;
use common::{root, run as ipcemu};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ipcemu-gui-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A decoded RGB screenshot.
struct Shot {
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

impl Shot {
    fn load(path: &Path) -> Shot {
        let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut reader = png::Decoder::new(f).read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        rgb.truncate(info.buffer_size());
        Shot {
            w: info.width,
            h: info.height,
            rgb,
        }
    }
    fn at(&self, x: u32, y: u32) -> u32 {
        let i = ((y * self.w + x) * 3) as usize;
        (self.rgb[i] as u32) << 16 | (self.rgb[i + 1] as u32) << 8 | self.rgb[i + 2] as u32
    }
    /// Pixels of colour `c` in the box [x0, x1) x [y0, y1).
    fn count(&self, (x0, y0, x1, y1): (u32, u32, u32, u32), c: u32) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.at(x, y) == c)
            .count()
    }
}

#[test]
fn keys_button_and_mouse_arrive_at_their_time() {
    let (code, out, err) = ipcemu(&[
        "run",
        "fixtures/kolibri/input_events.kex",
        "--keys",
        "1=Hi\\n@0.5",
        "--button",
        "1=7@1",
        "--mouse",
        "1=130,75,1@1.5",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("PASS 17: button 7 as id << 8"), "{out}");
    assert!(out.contains("DONE 17 0"), "{out}");
}

#[test]
fn masked_input_waits_in_its_buffer() {
    let (code, out, err) = ipcemu(&[
        "run",
        "fixtures/kolibri/input_mask.kex",
        "--keys",
        "1=a@0.2",
        "--button",
        "1=5@0.5",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("DONE 5 0"), "{out}");
}

#[test]
fn waiting_for_input_that_never_comes_is_a_deadlock() {
    let (code, out, err) = ipcemu(&["run", "fixtures/kolibri/input_wait.kex"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("deadlock"), "{err}");
    assert!(err.contains("input_wait[3]"), "{err}");
    assert!(err.contains("waits for input"), "{err}");
    assert!(!out.contains("FAIL"), "{out}");
    // A key for it ends the wait (the guest then reports that 10 returned).
    let (_, out, err) = ipcemu(&["run", "fixtures/kolibri/input_wait.kex", "--keys", "1=x@3"]);
    assert!(!err.contains("deadlock"), "{err}");
    assert!(out.contains("function 10 returned"), "{out}");
}

#[test]
fn a_button_the_guest_did_not_define_is_not_pressed() {
    // gui_draw defines button 3 only: button 4 is refused with a warning, and the guest,
    // which waits for a button, is then in a deadlock.
    let (code, _, err) = ipcemu(&["run", "fixtures/kolibri/gui_draw.kex", "--button", "1=4@1"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("has no button 4"), "{err}");
    assert!(err.contains("deadlock"), "{err}");
}

/// gui_draw's window (see guest-tests/kolibri/gui_draw.asm), checked pixel by pixel.
fn check_gui_draw(shot: &Shot) {
    const GREY: u32 = 0xC0C0C0;
    assert_eq!(
        (shot.w, shot.h),
        (200, 150),
        "a 199x149 window is 200x150 pixels"
    );
    assert_eq!(shot.at(190, 140), GREY, "window body");
    assert_eq!(
        shot.at(199, 149),
        GREY,
        "the window's last pixel is the body"
    );
    // Rectangle 13 at (20,30) 40x10: exactly [20,60) x [30,40).
    assert_eq!(shot.count((20, 30, 60, 40), 0xFF0000), 400);
    assert_eq!(
        shot.count((0, 0, 200, 150), 0xFF0000),
        400,
        "nothing else is red"
    );
    // Line 38 from (10,100) to (110,100): both ends drawn.
    assert_eq!(shot.count((0, 100, 200, 101), 0x0000FF), 101);
    assert_eq!(shot.at(9, 100), GREY);
    assert_eq!(shot.at(111, 100), GREY);
    // Pixel 1 at (5,5).
    assert_eq!(shot.at(5, 5), 0x00FF00);
    assert_eq!(shot.at(6, 5), GREY);
    // Text 4 'HELLO' at (20,60): black pixels in its five 6x9 cells, none around them.
    let text = shot.count((20, 60, 50, 69), 0);
    assert!(text > 20, "text drew {text} pixels");
    assert_eq!(
        shot.count((0, 50, 200, 60), 0),
        0,
        "nothing black above the text"
    );
    // Number 47: 42 in 3 digits is "042" at (20,80).
    assert!(shot.count((20, 80, 38, 89), 0) > 10);
    assert_eq!(shot.count((38, 80, 200, 89), 0), 0, "three cells only");
    // Button 8 at (120,20) size 50x20 in 0x00FF00, drawn as button.inc draws it: body
    // (122..=168, 22..=38), borders c >> 1 & 0x7f7f7f, a light line | 0x808080 at the top and
    // left, dark lines 3 * (c >> 2 & 0x3f3f3f) at the bottom and the right's own shade,
    // corners untouched.
    assert_eq!(shot.count((120, 20, 171, 41), 0x00FF00), 47 * 17);
    assert_eq!(shot.count((122, 22, 169, 39), 0x00FF00), 47 * 17);
    for (x, y) in [
        (120, 20),
        (170, 20),
        (120, 40),
        (170, 40),
        (171, 30),
        (145, 41),
    ] {
        assert_eq!(shot.at(x, y), GREY, "({x},{y}) is not the button's");
    }
    assert_eq!(shot.at(145, 20), 0x007F00, "top border");
    assert_eq!(shot.at(145, 21), 0x80FF80, "top light line");
    assert_eq!(shot.at(121, 30), 0x80FF80, "left light line");
    assert_eq!(shot.at(120, 30), 0x007F00, "left border");
    assert_eq!(shot.at(170, 30), 0x007F00, "right border");
    assert_eq!(shot.at(169, 30), 0x00BE00, "right dark line");
    assert_eq!(shot.at(145, 39), 0x00BD00, "bottom dark line");
    assert_eq!(shot.at(145, 40), 0x007E00, "bottom border");
}

#[test]
fn screenshot_shows_what_the_guest_drew() {
    let d = scratch("cli");
    let png = d.join("draw.png");
    let early = d.join("early.png");
    let arg = format!("1={}@1", png.display());
    let arg0 = format!("1={}@0", early.display());
    let (code, out, err) = ipcemu(&[
        "run",
        "fixtures/kolibri/gui_draw.kex",
        "--screenshot",
        &arg0,
        "--screenshot",
        &arg,
        "--button",
        "1=3@2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("DONE 2 0"), "{out}");
    check_gui_draw(&Shot::load(&png));
    // At time 0 the guest has not run yet: no window, no file, a warning.
    assert!(!early.exists());
    assert!(err.contains("has no window"), "{err}");
}

#[test]
fn scenario_input_and_screenshot_steps() {
    let d = scratch("scenario");
    let fixtures = root().join("fixtures").canonicalize().unwrap();
    let toml = format!(
        r#"name = "input and screenshot steps"

[[process]]
image = "{f}/kolibri/gui_draw.kex"
label = "draw"
expect_output_contains = ["DONE 2 0"]

[[process]]
image = "{f}/kolibri/input_events.kex"
label = "events"
expect_output_contains = ["DONE 17 0"]

[[input]]
to = "draw"
at = 1
screenshot = "draw.png"

[[input]]
to = "draw"
at = 2
button = 3

[[input]]
to = "events"
at = 0.5
keys = "Hi\n"

[[input]]
to = "events"
at = 1
button = 7

[[input]]
to = "events"
at = 1.5
mouse = [130, 75, 1]
"#,
        f = fixtures.display()
    );
    let file = d.join("gui.toml");
    std::fs::write(&file, toml).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
        .args(["test", file.to_str().unwrap()])
        .current_dir(root())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    check_gui_draw(&Shot::load(&d.join("draw.png")));
}

#[test]
fn bad_input_options_are_refused() {
    for (opt, val, want) in [
        ("--keys", "2=a@1", "N is a guest's position"),
        ("--keys", "1=a", "expected @SECONDS"),
        ("--button", "1=x@1", "is not a number"),
        ("--mouse", "1=1@1", "expected X,Y[,BUTTONS]"),
        ("--keys", "1=\\q@1", "unknown escape"),
    ] {
        let (code, out, err) = ipcemu(&["run", "fixtures/kolibri/input_wait.kex", opt, val]);
        assert_ne!(code, 0, "{opt} {val}: {out}");
        assert!(err.contains(want), "{opt} {val}: {err}");
    }
}

#[test]
fn input_after_the_guests_ended_does_not_make_a_timeout() {
    // A screenshot and a key due after the time limit, for a guest that ends at once: the run
    // ended when the guest did, not at the limit.
    let d = scratch("late");
    let arg = format!("1={}@100", d.join("late.png").display());
    let (code, out, err) = ipcemu(&[
        "run",
        "fixtures/kolibri/nop.kex",
        "--screenshot",
        &arg,
        "--keys",
        "1=a@200",
        "--timeout",
        "5",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("--timeout reached"), "{err}");
    assert!(!d.join("late.png").exists());
}

#[test]
fn bad_scenario_input_steps_are_refused() {
    let d = scratch("bad-steps");
    let fixtures = root().join("fixtures").canonicalize().unwrap();
    for (step, want) in [
        (
            "to = \"nobody\"\nkeys = \"a\"",
            "no process labelled \"nobody\"",
        ),
        ("to = \"w\"\nkeys = \"a\"\nbutton = 1", "exactly one of"),
        ("to = \"w\"\nmouse = [1]", "mouse is [x, y]"),
        ("to = \"w\"\nkeys = \"\u{e9}\"", "is not a key"),
    ] {
        let toml = format!(
            "[[process]]\nimage = \"{}/kolibri/input_wait.kex\"\nlabel = \"w\"\n\n[[input]]\n{step}\n",
            fixtures.display()
        );
        let file = d.join("bad.toml");
        std::fs::write(&file, toml).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_ipcemu"))
            .args(["test", file.to_str().unwrap()])
            .current_dir(root())
            .output()
            .unwrap();
        let out =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{step}: {out}");
        assert!(out.contains(want), "{step}: {out}");
    }
}
