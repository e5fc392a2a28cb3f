//! The `pagerlens` binary: the allocator set-up, then [`pagerlens::cli`].

/// mimalloc: the system allocator spent a fifth of a sync's CPU time in
/// malloc and free across threads (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SQLite's own allocations (the values it copies out for every column of
/// every row, its page cache) go to mimalloc as well, and it stops keeping
/// memory statistics (a process-wide mutex taken on every allocation).
/// Through the system allocator a large report spent a quarter of its
/// reading thread's time in glibc's `malloc_consolidate` and that mutex:
/// the values are freed on another thread than the one that allocated
/// them (see BENCHMARKS.md). Must run before the first SQLite connection
/// opens; later, SQLite refuses the change and keeps its defaults.
mod sqlite_memory {
    use std::ffi::{c_int, c_void};

    use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
    use libsqlite3_sys as ffi;

    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        // SAFETY: mi_malloc takes any size; SQLite asks for positive ones.
        unsafe { mi_malloc(usize::try_from(n).unwrap_or(0)) }
    }

    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc`/`realloc` returned.
        unsafe { mi_free(p) }
    }

    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: as above; mi_realloc keeps the contents.
        unsafe { mi_realloc(p, usize::try_from(n).unwrap_or(0)) }
    }

    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: `p` came from `malloc`/`realloc`; SQLite may use all of
        // the usable size, which mimalloc allows.
        c_int::try_from(unsafe { mi_usable_size(p) }).unwrap_or(c_int::MAX)
    }

    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        (n + 7) & !7
    }

    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    pub fn configure() {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: called once, before any connection opens (SQLite copies
        // `methods`); SQLite answers SQLITE_MISUSE, changing nothing, if
        // it is already initialised.
        let (memstatus, malloc) = unsafe {
            (
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods),
            )
        };
        if memstatus != ffi::SQLITE_OK || malloc != ffi::SQLITE_OK {
            tracing::debug!(memstatus, malloc, "SQLite kept its default allocator");
        }
    }
}

/// mimalloc commits the arena it reserves eagerly by default, and memory
/// freed there is only reset (`MADV_FREE`), so it stays in the process's
/// resident set until the kernel needs it: a sync that writes its derived
/// rows in batches kept far more resident than it used. Committed on
/// demand, freed memory is decommitted and the resident set follows the use
/// (see BENCHMARKS.md). mimalloc reads the option when it
/// reserves its first arena, at the first allocation, which the Rust
/// runtime makes before `main`: so this runs as an ELF constructor, before
/// the runtime starts. `MIMALLOC_ARENA_EAGER_COMMIT` still overrides it.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static CONFIGURE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn configure() {
        // `mi_option_arena_eager_commit` in the option list of mimalloc 3,
        // which the crate builds; it has no constant for it.
        const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            // SAFETY: options are plain integers, read by mimalloc on use;
            // this runs before any thread exists.
            unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
        }
    }
    configure
};

fn main() -> std::process::ExitCode {
    sqlite_memory::configure();
    pagerlens::cli::main()
}
