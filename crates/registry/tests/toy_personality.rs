//! The toy personality of docs/architecture.md: adding a guest ABI is a type that implements
//! `Personality` and one entry in the registry. `Echo` owns `int 0x70` and answers eax = ebx + 1;
//! a real guest (a MENUET01 image assembled below) calls it and prints the answer through the
//! KolibriOS debug board, so both personalities serve one process.

use ipcemu_kernel::{Config, Cpu, GuestMemory, Kernel, Outcome, ProcId, Reg, ThreadId};
use ipcemu_machine::{GuestSpec, World, WorldConfig};
use ipcemu_personality::{Format, Personality, Trap};
use std::any::Any;

/// The whole personality: no state but a counter.
#[derive(Default)]
struct Echo {
    calls: u32,
}

impl<M: GuestMemory> Personality<M> for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(0x70, "the echo toy (int 0x70)".into())]
    }
    fn attaches(&self, format: Format) -> bool {
        format == Format::Menuet
    }
    fn trap(&mut self, _k: &mut Kernel<M>, _t: ThreadId, cpu: &mut dyn Cpu, _: Trap) -> Outcome {
        self.calls += 1;
        cpu.set(Reg::Eax, cpu.get(Reg::Ebx).wrapping_add(1));
        Outcome::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A MENUET01 image: `mov ebx,'A'; int 0x70; mov ecx,eax; mov ebx,1; mov eax,63; int 0x40`
/// (debug board, prints 'B'), then `mov eax,-1; int 0x40` (end).
fn guest() -> Vec<u8> {
    let code: &[u8] = &[
        0xBB, 0x41, 0, 0, 0, // mov ebx, 'A'
        0xCD, 0x70, // int 0x70
        0x89, 0xC1, // mov ecx, eax
        0xBB, 1, 0, 0, 0, // mov ebx, 1
        0xB8, 63, 0, 0, 0, // mov eax, 63
        0xCD, 0x40, // int 0x40
        0xB8, 0xFF, 0xFF, 0xFF, 0xFF, // mov eax, -1
        0xCD, 0x40, // int 0x40
    ];
    let mut img = b"MENUET01".to_vec();
    let end = 36 + code.len() as u32;
    for v in [1u32, 36, end, 0x2000, 0x2000, 0, 0] {
        img.extend_from_slice(&v.to_le_bytes());
    }
    img.extend_from_slice(code);
    img
}

fn world(extra: Box<dyn Personality<ipcemu_machine::ProcMemory>>) -> World {
    let mut reg = ipcemu_registry::Personalities::default().build();
    reg.push(extra);
    let config = WorldConfig {
        kernel: Config {
            capture_output: true,
            ..Config::default()
        },
        ..WorldConfig::default()
    };
    World::new(
        config,
        reg,
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
    )
    .expect("no collision")
}

#[test]
fn a_toy_personality_serves_a_real_guest_next_to_kolibrios() {
    let mut w = world(Box::new(Echo::default()));
    let spec = GuestSpec {
        path: "toy.kex".into(),
        bytes: guest(),
        params: None,
    };
    let id = w.add_guest(&spec).expect("loads");
    let report = w.run();
    assert!(report.success(), "{report:?}");
    assert_eq!(w.output_of(id.proc).unwrap(), b"B");
    assert_eq!(w.output_of(ProcId(9)), None, "no such process");
    let calls = w.with_personality::<Echo, _>(|_, e| e.calls);
    assert_eq!(calls, Some(1));
}

/// A personality on a vector another one owns is refused when the world is built.
struct Clash;
impl<M: GuestMemory> Personality<M> for Clash {
    fn name(&self) -> &'static str {
        "clash"
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(0x40, "a clashing toy (int 0x40)".into())]
    }
    fn attaches(&self, format: Format) -> bool {
        format == Format::Menuet
    }
    fn trap(&mut self, _: &mut Kernel<M>, _: ThreadId, _: &mut dyn Cpu, _: Trap) -> Outcome {
        Outcome::Continue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[test]
fn vector_collisions_are_found_from_the_registry() {
    let mut reg = ipcemu_registry::Personalities::default().build();
    reg.push(Box::new(Clash));
    let e = World::new(
        WorldConfig::default(),
        reg,
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
    )
    .err()
    .expect("refused");
    assert_eq!(
        e.to_string(),
        "interrupt vector 0x40 is claimed twice: KolibriOS system calls (int 0x40) and a clashing toy (int 0x40)"
    );
}

#[test]
fn the_stepping_primitive_reports_each_slice() {
    let mut w = world(Box::new(Echo::default()));
    w.add_guest(&GuestSpec {
        path: "toy.kex".into(),
        bytes: guest(),
        params: None,
    })
    .unwrap();
    let mut slices = 0;
    loop {
        match w.step() {
            ipcemu_machine::Step::Ran(t, reason) => {
                assert_eq!(t, ThreadId(0));
                assert_eq!(reason, ipcemu_machine::StopReason::Switch);
                slices += 1;
            }
            ipcemu_machine::Step::Over(end) => {
                assert_eq!(end, ipcemu_machine::End::AllExited);
                break;
            }
        }
    }
    assert_eq!(slices, 1, "one slice: the guest runs until it ends");
}
