//! ipcemu runs on a patched Unicorn (patches/unicorn/, applied by scripts/patch-unicorn.sh and
//! used through the workspace's [patch.crates-io]). If the patch is lost this test fails: first
//! at link time (the marker function is missing), else on the level.

#[test]
fn unicorn_carries_the_store_patch() {
    assert_eq!(ipcemu_machine::unicorn_store_patch(), 1);
}

#[test]
fn the_vendored_crate_is_the_patched_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let stamp = std::fs::read_to_string(root.join("vendor/unicorn-engine-sys/.ipcemu-patched"))
        .expect("vendor/unicorn-engine-sys is missing: run scripts/setup.sh");
    let cputlb =
        std::fs::read_to_string(root.join("vendor/unicorn-engine-sys/qemu/accel/tcg/cputlb.c"))
            .unwrap();
    let tcg_op =
        std::fs::read_to_string(root.join("vendor/unicorn-engine-sys/qemu/tcg/tcg-op.c")).unwrap();
    let gen_icount = std::fs::read_to_string(
        root.join("vendor/unicorn-engine-sys/qemu/include/exec/gen-icount.h"),
    )
    .unwrap();
    let translate = std::fs::read_to_string(
        root.join("vendor/unicorn-engine-sys/qemu/target/i386/translate.c"),
    )
    .unwrap();
    assert!(
        translate.contains("s->cc_op >= CC_OP_LOGICB && s->cc_op <= CC_OP_LOGICQ"),
        "the inline logic-operation flags (logic-flags-inline patch) are missing"
    );
    assert!(
        translate.contains("rot_op = CC_OP_ADCOX_LOGIC;"),
        "the lazy flags of a rotate after a logic operation (logic-flags-inline patch) are missing"
    );
    let x86_unicorn =
        std::fs::read_to_string(root.join("vendor/unicorn-engine-sys/qemu/target/i386/unicorn.c"))
            .unwrap();
    assert!(
        x86_unicorn.contains("env->hflags &= ~HF_ADDSEG_MASK;"),
        "the flat 32-bit start without ADDSEG (flat-addseg patch) is missing"
    );
    assert!(
        translate.contains("gen_helper_ipcemu_int_hooked"),
        "int n calling the interrupt hooks inside the block (int-hook-inline patch) is missing"
    );
    let cpus = std::fs::read_to_string(root.join("vendor/unicorn-engine-sys/qemu/softmmu/cpus.c"))
        .unwrap();
    assert!(
        cpus.contains("uc->skip_sync_pc_on_exit = false;"),
        "the pc-write-sync fix is missing"
    );
    assert_eq!(stamp.trim().len(), 64, "{stamp}");
    assert!(
        gen_icount.contains("tcg_ctx->exitreq_label = gen_new_label"),
        "the inline stop-request check at block start (tb-start-exit-check patch) is missing"
    );
    assert!(cputlb.contains("uc_mem_access_hook_installed"));
    assert!(tcg_op.contains("check_exit_request_after_mem"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("unicorn-engine-sys = { path = \"vendor/unicorn-engine-sys\" }"),
        "the workspace no longer patches unicorn-engine-sys"
    );
}
