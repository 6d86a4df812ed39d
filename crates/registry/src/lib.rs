//! # ipcemu-registry
//!
//! The standard personalities of ipcemu, assembled for a world. Adding a personality is one
//! line in [`Personalities::build`] (and a crate that implements
//! `ipcemu_personality::Personality`).

#![warn(missing_docs)]

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
}

impl Default for Personalities {
    fn default() -> Self {
        Personalities {
            strict: false,
            kolibri: ipcemu_kolibri::Options::default(),
            pcipc_vector: ipcemu_pcipc::DEFAULT_VECTOR,
            pcipc: PcIpcConfig::default(),
        }
    }
}

impl Personalities {
    /// The personality objects, in routing priority order.
    pub fn build(&self) -> Registry {
        let kolibri = ipcemu_kolibri::Options {
            strict: self.strict,
            ..self.kolibri.clone()
        };
        vec![
            Box::new(ipcemu_kolibri::Kolibri::new(kolibri)),
            Box::new(ipcemu_linux::Linux {
                strict: self.strict,
            }),
            Box::new(ipcemu_dos::Dos),
            Box::new(ipcemu_pcipc::PcIpc::new(
                self.pcipc_vector,
                self.pcipc.clone(),
            )),
        ]
    }

    /// Refuse options that cannot work, with a sentence the CLI can print.
    pub fn validate(&self) -> Result<(), String> {
        if self.pcipc.ids == 0 {
            return Err("--pcipc-ids must be at least 1".into());
        }
        if self.pcipc_vector < 0x20 {
            eprintln!(
                "ipcemu: warning: PC-IPC vector {:#04x} is also a CPU exception vector: a CPU \
                 fault with that number would be taken as a PC-IPC call",
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
    ) -> Result<World, String> {
        self.validate()?;
        World::new(config, self.build(), out, err).map_err(|e| match e {
            WorldError::Registry(r) => match r {
                ipcemu_personality::RegistryError::VectorCollision { vector, first, second }
                    if second.starts_with("PC-IPC") || first.starts_with("PC-IPC") =>
                {
                    let other = if first.starts_with("PC-IPC") { second } else { first };
                    format!(
                        "PC-IPC vector {vector:#04x} collides with {other}; choose another with --pcipc-vector"
                    )
                }
                r => r.to_string(),
            },
        })
    }
}
