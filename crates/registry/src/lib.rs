//! # ipcemu-registry
//!
//! The standard personalities of ipcemu, assembled for a world. Adding a personality is one
//! line in [`Personalities::build`] (and a crate that implements
//! `ipcemu_personality::Personality`).

#![warn(missing_docs)]

use ipcemu_kernel::MessageHook;
pub mod timed;
pub use ipcemu_kos::{parse_connect, parse_init, Connection, Policy};
use ipcemu_machine::{Registry, World, WorldConfig, WorldError};
pub use ipcemu_pcipc::{PcIpcConfig, DEFAULT_VECTOR as PCIPC_DEFAULT_VECTOR};
use std::io::Write;

/// Options of the standard personalities.
#[derive(Debug, Clone)]
pub struct Personalities {
    /// Unknown system functions fault the guest instead of returning an error.
    pub strict: bool,
    /// KolibriOS options (heap size, board capacity).
    pub kolibri: ipcemu_kolibri::Options,
    /// The vector PC-IPC listens on.
    pub pcipc_vector: u8,
    /// PC-IPC tunables.
    pub pcipc: PcIpcConfig,
    /// KasperskyOS-style connections (`--kos-init`, `--kos-connect`).
    pub kos_connections: Vec<ipcemu_kos::Connection>,
    /// The KasperskyOS-style security module's policy (`--policy`); `None` allows everything.
    pub kos_policy: Option<ipcemu_kos::Policy>,
    /// Win32: bytes of each shared view recorded at each signal when tracing (`--trace-views`).
    pub win32_view_snapshot: usize,
}

impl Default for Personalities {
    fn default() -> Self {
        Personalities {
            strict: false,
            kolibri: ipcemu_kolibri::Options::default(),
            pcipc_vector: ipcemu_pcipc::DEFAULT_VECTOR,
            pcipc: PcIpcConfig::default(),
            kos_connections: Vec::new(),
            kos_policy: None,
            win32_view_snapshot: 0,
        }
    }
}

/// Why a world of these personalities cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `--pcipc-ids 0`.
    #[error("--pcipc-ids must be at least 1")]
    NoPcIpcIds,
    /// The PC-IPC vector is another personality's.
    #[error(
        "PC-IPC vector {vector:#04x} collides with {other}; choose another with --pcipc-vector"
    )]
    PcIpcVector {
        /// The vector.
        vector: u8,
        /// Who else claims it.
        other: String,
    },
    /// Two personalities claim one vector or start one format.
    #[error(transparent)]
    Registry(ipcemu_personality::RegistryError),
}

impl Personalities {
    /// The personality objects, in routing priority order.
    pub fn build(&self) -> Registry {
        self.build_with_hooks().0
    }

    /// The personality objects and the message hooks they bring (the security module).
    pub fn build_with_hooks(&self) -> (Registry, Vec<Box<dyn MessageHook>>) {
        let mut hooks: Vec<Box<dyn MessageHook>> = Vec::new();
        let mut kos = ipcemu_kos::Kos::new(self.kos_connections.clone(), self.strict);
        if let Some(p) = &self.kos_policy {
            hooks.push(Box::new(kos.security_module(p.clone())));
        }
        let kolibri = ipcemu_kolibri::Options {
            strict: self.strict,
            ..self.kolibri.clone()
        };
        let reg: Registry = vec![
            Box::new(ipcemu_kolibri::Kolibri::new(kolibri)),
            Box::new(ipcemu_linux::Linux {
                strict: self.strict,
            }),
            Box::new(ipcemu_dos::Dos),
            Box::new(ipcemu_pcipc::PcIpc::new(
                self.pcipc_vector,
                self.pcipc.clone(),
            )),
            Box::new(kos),
            Box::new(ipcemu_win32::Win32::new(ipcemu_win32::Options {
                strict: self.strict,
                view_snapshot: self.win32_view_snapshot,
            })),
        ];
        (reg, hooks)
    }

    /// Refuse options that cannot work (its `Display` is a sentence the CLI can print).
    pub fn validate(&self) -> Result<(), BuildError> {
        if self.pcipc.ids == 0 {
            return Err(BuildError::NoPcIpcIds);
        }
        if self.pcipc_vector < 0x20 {
            tracing::warn!(
                "PC-IPC vector {:#04x} is also a CPU exception vector: a CPU fault with that \
                 number would be taken as a PC-IPC call",
                self.pcipc_vector
            );
        }
        Ok(())
    }

    /// A world of the standard personalities.
    pub fn world(
        &self,
        config: WorldConfig,
        out: Box<dyn Write>,
        err: Box<dyn Write>,
    ) -> Result<World, BuildError> {
        self.validate()?;
        let (reg, hooks) = self.build_with_hooks();
        let mut world = World::new(config, reg, out, err).map_err(|e| match e {
            WorldError::Registry(r) => match r {
                ipcemu_personality::RegistryError::VectorCollision {
                    vector,
                    first,
                    second,
                } if second.starts_with("PC-IPC") || first.starts_with("PC-IPC") => {
                    let other = if first.starts_with("PC-IPC") {
                        second
                    } else {
                        first
                    };
                    BuildError::PcIpcVector { vector, other }
                }
                r => BuildError::Registry(r),
            },
        })?;
        for h in hooks {
            world.add_message_hook(h);
        }
        Ok(world)
    }
}
