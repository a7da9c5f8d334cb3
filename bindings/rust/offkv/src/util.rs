//! Conversions between Rust values and the C API's buffers. Every buffer the library
//! hands out is copied here and given back to the library's own free function.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::time::Duration;

use offkv_sys as sys;

use crate::error::{Error, ErrorKind, Result};

/// A key, URL or payload string as a C string; a NUL inside is `Invalid`.
pub(crate) fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            ErrorKind::Invalid,
            Some(s),
            "contains a NUL byte, which cannot cross the C API",
        )
    })
}

/// A C timeout in milliseconds: `None` is forever (-1); clamped to `i32::MAX`.
pub(crate) fn millis(timeout: Option<Duration>) -> c_int {
    match timeout {
        None => -1,
        Some(d) => c_int::try_from(d.as_millis()).unwrap_or(c_int::MAX),
    }
}

/// Copies a borrowed C string (NULL gives "").
pub(crate) fn copy_str(s: *const c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    // SAFETY: the library's strings are NUL-terminated and valid for the length of
    // the call that handed them out; we copy before returning.
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// Copies an optional borrowed C string (NULL gives None).
pub(crate) fn copy_opt_str(s: *const c_char) -> Option<String> {
    (!s.is_null()).then(|| copy_str(s))
}

/// Copies the bytes of a borrowed `offkv_buf`.
pub(crate) fn copy_buf(buf: &sys::offkv_buf) -> Vec<u8> {
    if buf.data.is_null() || buf.len == 0 {
        return Vec::new();
    }
    // SAFETY: a non-NULL buffer from the library holds `len` readable bytes.
    unsafe { std::slice::from_raw_parts(buf.data as *const u8, buf.len) }.to_vec()
}

/// Copies an owned `offkv_buf` and frees it.
pub(crate) fn take_buf(mut buf: sys::offkv_buf) -> Vec<u8> {
    let bytes = copy_buf(&buf);
    // SAFETY: the buffer was filled by the library (or is zeroed); it is freed once.
    unsafe { sys::offkv_buf_free(&mut buf) };
    bytes
}

/// Copies an owned `offkv_strings` and frees it.
pub(crate) fn take_strings(mut strings: sys::offkv_strings) -> Vec<String> {
    let items = if strings.items.is_null() {
        Vec::new()
    } else {
        // SAFETY: a non-NULL array from the library holds `count` string pointers.
        unsafe { std::slice::from_raw_parts(strings.items, strings.count) }
            .iter()
            .map(|&s| copy_str(s))
            .collect()
    };
    // SAFETY: filled by the library (or zeroed); freed once.
    unsafe { sys::offkv_strings_free(&mut strings) };
    items
}

/// Copies an owned `char *` and frees it (NULL gives None).
pub(crate) fn take_string(s: *mut c_char) -> Option<String> {
    let copy = copy_opt_str(s);
    // SAFETY: the string came from the library through a char ** out-parameter (or
    // is NULL, which the free function ignores); freed once.
    unsafe { sys::offkv_string_free(s) };
    copy
}

/// A zeroed buffer for an out-parameter.
pub(crate) fn empty_buf() -> sys::offkv_buf {
    sys::offkv_buf {
        data: std::ptr::null_mut(),
        len: 0,
    }
}

/// A zeroed string array for an out-parameter.
pub(crate) fn empty_strings() -> sys::offkv_strings {
    sys::offkv_strings {
        items: std::ptr::null_mut(),
        count: 0,
    }
}
