//! tusk-ipc
