/*
 * offkv.i: the SWIG interface over capi/offkv.h.
 *
 * It %includes the header itself, so every function the header declares is wrapped
 * unless it is %ignore'd below on purpose (buffers and free functions the typemaps
 * handle). The file has two parts:
 *
 *   1. Language-neutral (reusable as is for Java): which functions are ignored, which
 *      return an error code, which may block; the error-capture pattern around each
 *      call. It is written in terms of a handful of macros that each language defines:
 *
 *        OFFKV_SWIG_UNLOCK / OFFKV_SWIG_LOCK   leave / re-enter the language runtime
 *                                              around a blocking C call (Python: the
 *                                              GIL; Java: nothing)
 *        OFFKV_SWIG_RAISE(code, msg, extra)    raise the language's error for a
 *                                              non-zero code and leave the wrapper
 *        OFFKV_SWIG_TXN_EXTRA(result)          extra data for OFFKV_ETXN
 *        OFFKV_SWIG_RET_NONE(fn)               make fn's int return code invisible
 *
 *   2. Per-language typemaps: out-parameters, offkv_buf -> bytes, offkv_strings ->
 *      list[str], value+len from a bytes-like object, callbacks through a C trampoline,
 *      the options struct. Only the Python part (#if defined(SWIGPYTHON)) exists so
 *      far; Java adds an #elif defined(SWIGJAVA) section defining the same macros.
 *
 * Order in this file: part 1's definitions, part 2 (which defines the macros), then
 * part 1's classification of every header function (which uses them), then the
 * header. A function added to the header must be classified here (CHECKED: returns
 * an error code; BLOCKING: no code but may block), and any new out-parameter shape
 * needs a typemap; tests/test_api_coverage.py fails until the Python API covers it.
 *
 * Every call that can block runs with the GIL released; the error text of a failed
 * call is copied from offkv_last_error() right after the call, still inside the
 * GIL-released region, so nothing else can run an offkv call on this thread first.
 */
%define OFFKV_MODULE_DOC
"Low-level SWIG wrapper of capi/offkv.h. Use the offkv package instead: it is the
supported API. Functions mirror the C API; out-parameters are returned, error codes
are raised as offkv.Error subclasses (once the offkv package has registered its
factory), buffers are freed by the wrapper."
%enddef
%module(docstring=OFFKV_MODULE_DOC) _offkv

%{
#include "offkv.h"
#include <stdlib.h>
#include <string.h>

/* A private copy of offkv_last_error(), taken right after a failed call. */
static char *offkv_swig_capture_error(void) { return offkv_last_error_copy(); }
%}

/* ====================================================================================
 * Part 1: language-neutral
 * ==================================================================================== */

%include <stdint.i>

/* Buffers and events are converted and freed by typemaps; their free functions and
 * the structs themselves are not part of the wrapped surface. */
%ignore offkv_buf_free;
%ignore offkv_strings_free;
%ignore offkv_string_free;
%ignore offkv_event_free;
%ignore offkv_txn_result_free;
%ignore offkv_options_init; /* used by the options typemap */
/* Python's options are a dict of typed values (the typemap below), not the C API's
 * strings by name. */
%ignore offkv_last_error_copy; /* used by offkv_swig_capture_error */
%ignore offkv_options_set;
%ignore offkv_options_reset;
%ignore offkv_buf;
%ignore offkv_strings;
%ignore offkv_event;
%ignore offkv_options;
%ignore offkv_op_result;
%ignore offkv_txn_result;
%ignore offkv_member_free;
%ignore offkv_members_free;
%ignore offkv_member;
%ignore offkv_members;
%ignore offkv_recipe_event;
%ignore offkv_completion; /* converted to a tuple by the completion trampoline */
%ignore offkv_stats_free; /* the counters are converted (and freed) by a typemap */
%ignore offkv_stats;
%ignore offkv_stat;

/* A function that returns an offkv error code: runs without the language runtime's
 * lock, captures the detail message, raises on failure, and returns only its
 * out-parameters. EXTRA is an expression for extra error data (or 0). */
%define OFFKV_CHECKED_EX(fn, EXTRA)
%exception fn {
  char *offkv_swig_msg = NULL;
  OFFKV_SWIG_UNLOCK
  $action
  if (result != OFFKV_OK) offkv_swig_msg = offkv_swig_capture_error();
  OFFKV_SWIG_LOCK
  if (result != OFFKV_OK) {
    OFFKV_SWIG_RAISE(result, offkv_swig_msg, EXTRA);
  }
}
OFFKV_SWIG_RET_NONE(fn)
%enddef
%define OFFKV_CHECKED(fn) OFFKV_CHECKED_EX(fn, 0) %enddef

/* A function with no error code that may still block (joins threads, waits for a
 * running callback): runs without the language runtime's lock. */
%define OFFKV_BLOCKING(fn)
%exception fn {
  OFFKV_SWIG_UNLOCK
  $action
  OFFKV_SWIG_LOCK
}
%enddef

/* ====================================================================================
 * Part 2: Python
 * ==================================================================================== */
#if defined(SWIGPYTHON)

%begin %{
#define PY_SSIZE_T_CLEAN
%}

%{
#if PY_VERSION_HEX >= 0x030D0000
#define OFFKV_PY_FINALIZING() Py_IsFinalizing()
#else
#define OFFKV_PY_FINALIZING() _Py_IsFinalizing()
#endif

#if defined(_MSC_VER)
#define OFFKV_PY_THREAD_LOCAL __declspec(thread)
#else
#define OFFKV_PY_THREAD_LOCAL __thread
#endif

/* Set by the offkv package: factory(code, message, extra) -> exception instance. */
static PyObject *offkv_py_error_factory = NULL;
/* Depth of offkv callbacks running on this thread (the package must not free a
 * client from one of its own callbacks). */
static OFFKV_PY_THREAD_LOCAL int offkv_py_callback_depth = 0;

static PyObject *offkv_py_str(const char *s, const char *errors) {
  if (!s) Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), errors);
}

/* The out-parameter list of a call as None, its one item, or a tuple. */
static PyObject *offkv_py_collapse(PyObject *list) {
  PyObject *out;
  if (!list) return NULL;
  switch (PyList_GET_SIZE(list)) {
    case 0:
      out = Py_None;
      Py_INCREF(out);
      break;
    case 1:
      out = PyList_GET_ITEM(list, 0);
      Py_INCREF(out);
      break;
    default:
      out = PyList_AsTuple(list);
  }
  Py_DECREF(list);
  return out;
}

/* Raises the offkv error for code; takes ownership of msg (may be NULL) and extra
 * (may be NULL). */
static void offkv_py_raise(int code, char *msg, PyObject *extra) {
  PyObject *text = offkv_py_str(msg ? msg : offkv_strerror(code), "replace");
  free(msg);
  if (!text) {
    Py_XDECREF(extra);
    return;
  }
  if (offkv_py_error_factory) {
    PyObject *exc = PyObject_CallFunction(offkv_py_error_factory, "iOO", code, text,
                                          extra ? extra : Py_None);
    if (exc) {
      PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
      Py_DECREF(exc);
    }
  } else {
    PyErr_Format(PyExc_RuntimeError, "%s: %U", offkv_error_name(code), text);
  }
  Py_DECREF(text);
  Py_XDECREF(extra);
}

static PyObject *offkv_py_txn_extra(const offkv_txn_result *r) {
  if (!r) return NULL;
  return Py_BuildValue("(ni)", (Py_ssize_t)r->failed_index, r->failed_code);
}

/* An event as a tuple (type, key, version, session_state, error, message). */
static PyObject *offkv_py_event(const offkv_event *e) {
  PyObject *key = offkv_py_str(e->key, "surrogateescape");
  PyObject *msg;
  if (!key) return NULL;
  msg = offkv_py_str(e->message ? e->message : "", "replace");
  if (!msg) {
    Py_DECREF(key);
    return NULL;
  }
  return Py_BuildValue("(iNLiiN)", e->type, key, (long long)e->version,
                       e->session_state, e->error, msg);
}

/* A member as a tuple (key, sequence, version, payload). */
static PyObject *offkv_py_member(const offkv_member *m) {
  PyObject *key = offkv_py_str(m->key, "surrogateescape");
  if (!key) return NULL;
  return Py_BuildValue("(NLLy#)", key, (long long)m->sequence, (long long)m->version,
                       m->payload.data ? m->payload.data : "",
                       (Py_ssize_t)m->payload.len);
}

/* items: the library's array of pointers (offkv.h "Structs and ABI"). */
static PyObject *offkv_py_member_list(const offkv_member *const *items, size_t count) {
  PyObject *list = PyList_New((Py_ssize_t)count);
  size_t i;
  for (i = 0; list && i < count; ++i) {
    PyObject *m = offkv_py_member(items[i]);
    if (!m) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, m);
  }
  return list;
}

/* A recipe event as a tuple
 * (type, member or None, group, members or None, session_state, error, message). */
static PyObject *offkv_py_recipe_event(const offkv_recipe_event *e) {
  PyObject *member, *group, *members, *msg;
  if (e->member) {
    member = offkv_py_member(e->member);
  } else {
    member = Py_None;
    Py_INCREF(member);
  }
  if (!member) return NULL;
  group = offkv_py_str(e->group, "surrogateescape");
  if (e->members || e->type == OFFKV_EVENT_MEMBERS) {
    members = offkv_py_member_list(e->members, e->members ? e->member_count : 0);
  } else {
    members = Py_None;
    Py_INCREF(members);
  }
  msg = offkv_py_str(e->message ? e->message : "", "replace");
  if (!group || !members || !msg) {
    Py_DECREF(member);
    Py_XDECREF(group);
    Py_XDECREF(members);
    Py_XDECREF(msg);
    return NULL;
  }
  return Py_BuildValue("(iNNNiiN)", e->type, member, group, members, e->session_state,
                       e->error, msg);
}

/* Calls the Python callable user with convert(event), on the library's event
 * thread. user is borrowed: the offkv package keeps it alive until the handle's
 * free (or close) function has returned, after which the library never calls back.
 * A Python exception never crosses back into C: it goes to sys.unraisablehook. */
static void offkv_py_deliver(void *user, PyObject *(*convert)(const void *),
                             const void *event) {
  PyGILState_STATE gil;
  PyObject *fn = (PyObject *)user;
  PyObject *args, *ret = NULL;
  if (!fn || !Py_IsInitialized() || OFFKV_PY_FINALIZING()) return;
  gil = PyGILState_Ensure();
  Py_INCREF(fn); /* the callback may drop the last other reference */
  ++offkv_py_callback_depth;
  args = convert(event);
  if (args) {
    ret = PyObject_CallFunctionObjArgs(fn, args, NULL);
    Py_DECREF(args);
  }
  --offkv_py_callback_depth;
  if (ret) {
    Py_DECREF(ret);
  } else {
    PyErr_WriteUnraisable(fn);
  }
  Py_DECREF(fn);
  PyGILState_Release(gil);
}

static PyObject *offkv_py_event_any(const void *e) {
  return offkv_py_event((const offkv_event *)e);
}
static PyObject *offkv_py_recipe_event_any(const void *e) {
  return offkv_py_recipe_event((const offkv_recipe_event *)e);
}

/* The C callbacks of every watch / session callback and of every recipe. */
static void offkv_py_trampoline(const offkv_event *event, void *user) {
  offkv_py_deliver(user, offkv_py_event_any, event);
}
static void offkv_py_recipe_trampoline(const offkv_recipe_event *event, void *user) {
  offkv_py_deliver(user, offkv_py_recipe_event_any, event);
}

/* The process-wide log callback (offkv_set_log_callback): calls the Python callable
 * user with (level, component, message) on whatever thread logs, the library's own
 * threads included, taking the GIL. user is borrowed: the offkv package keeps it
 * until offkv_set_log_callback has replaced it (which returns only once no call of
 * the previous callback runs) and turns logging off at interpreter exit. A Python
 * exception never crosses back into C: it goes to sys.unraisablehook (the package's
 * callable already hands the user's exceptions to the callback error hook). */
static void offkv_py_log_trampoline(int level, const char *component,
                                    const char *message, void *user) {
  PyGILState_STATE gil;
  PyObject *fn = (PyObject *)user, *comp, *msg, *ret = NULL;
  if (!fn || !Py_IsInitialized() || OFFKV_PY_FINALIZING()) return;
  gil = PyGILState_Ensure();
  Py_INCREF(fn);
  comp = offkv_py_str(component ? component : "", "replace");
  msg = offkv_py_str(message ? message : "", "replace");
  if (comp && msg) ret = PyObject_CallFunction(fn, "iOO", level, comp, msg);
  Py_XDECREF(comp);
  Py_XDECREF(msg);
  if (ret) {
    Py_DECREF(ret);
  } else {
    PyErr_WriteUnraisable(fn);
  }
  Py_DECREF(fn);
  PyGILState_Release(gil);
}

/* A completion of an asynchronous call as a tuple
 * (error, message, version, key, value, children, txn, watch): value bytes or None,
 * children a list or None, txn ([(version, key)...], failed_index, failed_code) or
 * None, watch the handle (owned by the caller from now on) or None. */
static PyObject *offkv_py_completion(const offkv_completion *c) {
  PyObject *msg = offkv_py_str(c->message ? c->message : "", "replace");
  PyObject *key = c->key ? offkv_py_str(c->key, "surrogateescape") : (Py_INCREF(Py_None), Py_None);
  PyObject *value = c->value ? PyBytes_FromStringAndSize(c->value, (Py_ssize_t)c->value_len)
                             : (Py_INCREF(Py_None), Py_None);
  PyObject *children = NULL, *txn = NULL, *watch = NULL;
  size_t i;
  if (!msg || !key || !value) goto fail;
  if (c->children || c->child_count) {
    children = PyList_New((Py_ssize_t)c->child_count);
    if (!children) goto fail;
    for (i = 0; i < c->child_count; ++i) {
      PyObject *k = offkv_py_str(c->children[i], "surrogateescape");
      if (!k) goto fail;
      PyList_SET_ITEM(children, (Py_ssize_t)i, k);
    }
  } else {
    Py_INCREF(Py_None);
    children = Py_None;
  }
  if (c->txn) {
    PyObject *ops = PyList_New((Py_ssize_t)c->txn->count);
    if (!ops) goto fail;
    for (i = 0; i < c->txn->count; ++i) {
      PyObject *op = Py_BuildValue("(LN)", (long long)c->txn->ops[i]->version,
                                   offkv_py_str(c->txn->ops[i]->key, "surrogateescape"));
      if (!op) {
        Py_DECREF(ops);
        goto fail;
      }
      PyList_SET_ITEM(ops, (Py_ssize_t)i, op);
    }
    txn = Py_BuildValue("(Nni)", ops, (Py_ssize_t)c->txn->failed_index, c->txn->failed_code);
    if (!txn) goto fail;
  } else {
    Py_INCREF(Py_None);
    txn = Py_None;
  }
  watch = c->watch ? SWIG_NewPointerObj(SWIG_as_voidptr(c->watch), SWIGTYPE_p_offkv_watch, 0)
                   : (Py_INCREF(Py_None), Py_None);
  if (!watch) goto fail;
  return Py_BuildValue("(iNLNNNNN)", c->error, msg, (long long)c->version, key, value,
                       children, txn, watch);
fail:
  Py_XDECREF(msg);
  Py_XDECREF(key);
  Py_XDECREF(value);
  Py_XDECREF(children);
  Py_XDECREF(txn);
  if (c->watch) offkv_watch_free(c->watch); /* nobody else will */
  return NULL;
}

/* The completion callback of every asynchronous call: calls the Python callable user
 * with the completion's tuple, on the event thread, and drops the reference the call
 * took (offkv_*_async calls done exactly once when it returned OFFKV_OK). */
static void offkv_py_completion_trampoline(const offkv_completion *c, void *user) {
  PyGILState_STATE gil;
  PyObject *fn = (PyObject *)user, *args, *ret = NULL;
  if (!fn || !Py_IsInitialized() || OFFKV_PY_FINALIZING()) {
    if (c->watch) offkv_watch_free(c->watch);
    return;
  }
  gil = PyGILState_Ensure();
  ++offkv_py_callback_depth;
  args = offkv_py_completion(c);
  if (args) {
    ret = PyObject_CallFunctionObjArgs(fn, args, NULL);
    Py_DECREF(args);
  }
  --offkv_py_callback_depth;
  if (ret) {
    Py_DECREF(ret);
  } else {
    PyErr_WriteUnraisable(fn);
  }
  Py_DECREF(fn);
  PyGILState_Release(gil);
}

/* A str argument as UTF-8 without embedded NUL (which would silently cut a key). */
static int offkv_py_as_cstr(PyObject *o, const char **out, const char *what) {
  Py_ssize_t n;
  const char *s;
  if (!PyUnicode_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be str, not %.200s", what,
                 Py_TYPE(o)->tp_name);
    return -1;
  }
  s = PyUnicode_AsUTF8AndSize(o, &n);
  if (!s || (size_t)n != strlen(s)) {
    /* A key or URL that C could not even be given is the same EINVAL as any other
     * invalid one. */
    const char *m = s ? "contains a NUL character" : "is not encodable as UTF-8";
    size_t len = strlen(what) + strlen(m) + 2;
    char *text = (char *)malloc(len);
    if (!s) PyErr_Clear();
    if (text) snprintf(text, len, "%s %s", what, m);
    offkv_py_raise(OFFKV_EINVAL, text, NULL);
    return -1;
  }
  *out = s;
  return 0;
}

static int offkv_py_int32(PyObject *v, int32_t *out, const char *name) {
  long x = PyLong_AsLong(v);
  if (x == -1 && PyErr_Occurred()) return -1;
  if (x < INT32_MIN || x > INT32_MAX) {
    PyErr_Format(PyExc_OverflowError, "option %s out of range", name);
    return -1;
  }
  *out = (int32_t)x;
  return 0;
}

/* Fills opts from a dict; every str is kept alive in keep for the call. */
static int offkv_py_options(PyObject *dict, offkv_options *opts, PyObject *keep) {
  PyObject *name, *value;
  Py_ssize_t pos = 0;
  if (!PyDict_Check(dict)) {
    PyErr_Format(PyExc_TypeError, "options must be a dict or None, not %.200s",
                 Py_TYPE(dict)->tp_name);
    return -1;
  }
  if (offkv_options_init(opts, OFFKV_OPTIONS_VERSION) != OFFKV_OK) {
    offkv_py_raise(OFFKV_EINTERNAL, offkv_swig_capture_error(), NULL);
    return -1;
  }
  while (PyDict_Next(dict, &pos, &name, &value)) {
    const char *n = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    const char **str_field = NULL;
    if (!n) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "option names must be str");
      return -1;
    }
    if (value == Py_None) continue; /* default */
    if (!strcmp(n, "session_timeout_ms")) {
      if (offkv_py_int32(value, &opts->session_timeout_ms, n)) return -1;
    } else if (!strcmp(n, "connect_timeout_ms")) {
      if (offkv_py_int32(value, &opts->connect_timeout_ms, n)) return -1;
    } else if (!strcmp(n, "operation_timeout_ms")) {
      if (offkv_py_int32(value, &opts->operation_timeout_ms, n)) return -1;
    } else if (!strcmp(n, "read_consistency")) {
      int32_t rc;
      if (offkv_py_int32(value, &rc, n)) return -1;
      opts->read_consistency = (int)rc;
    } else if (!strcmp(n, "session_callback")) {
      if (!PyCallable_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "session_callback must be callable");
        return -1;
      }
      opts->session_callback = offkv_py_trampoline;
      opts->session_user = value; /* kept alive by the caller, see trampoline */
    } else if (!strcmp(n, "by_name")) {
      /* {URL option name: value}, through offkv_options_set: every option the library
       * knows, checked there (EINVAL names the option and what it accepts). */
      PyObject *oname, *ovalue;
      Py_ssize_t opos = 0;
      if (!PyDict_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "options must be a dict of str to str");
        return -1;
      }
      while (PyDict_Next(value, &opos, &oname, &ovalue)) {
        const char *on = NULL, *ov = NULL;
        if (offkv_py_as_cstr(oname, &on, "option name") ||
            offkv_py_as_cstr(ovalue, &ov, on ? on : "option"))
          return -1;
        int code = offkv_options_set(opts, on, ov);
        if (code != OFFKV_OK) {
          offkv_py_raise(code, offkv_swig_capture_error(), NULL);
          return -1;
        }
      }
    } else if (!strcmp(n, "tls_ca_file")) {
      str_field = &opts->tls_ca_file;
    } else if (!strcmp(n, "tls_cert_file")) {
      str_field = &opts->tls_cert_file;
    } else if (!strcmp(n, "tls_key_file")) {
      str_field = &opts->tls_key_file;
    } else if (!strcmp(n, "username")) {
      str_field = &opts->username;
    } else if (!strcmp(n, "password")) {
      str_field = &opts->password;
    } else if (!strcmp(n, "token")) {
      str_field = &opts->token;
    } else {
      PyErr_Format(PyExc_TypeError, "unknown option '%s'", n);
      return -1;
    }
    if (str_field) {
      if (PyList_Append(keep, value)) return -1;
      if (offkv_py_as_cstr(value, str_field, n)) return -1;
    }
  }
  return 0;
}
%}

/* ---- The language macros of part 1 ---- */
%{
#define OFFKV_SWIG_UNLOCK Py_BEGIN_ALLOW_THREADS
#define OFFKV_SWIG_LOCK Py_END_ALLOW_THREADS
#define OFFKV_SWIG_RAISE(code, msg, extra) \
  do { offkv_py_raise(code, msg, extra); SWIG_fail; } while (0)
#define OFFKV_SWIG_TXN_EXTRA(r) offkv_py_txn_extra(r)
%}
/* The int return code is never shown: failures raise; on success the
 * out-parameters are collected in a list (argout typemaps, OFFKV_PY_OUT) which is
 * returned as None (no out-parameter), the value (one) or a tuple (several). */
%define OFFKV_SWIG_RET_NONE(fn)
%typemap(out) int fn {
  $result = PyList_New(0);
  if (!$result) SWIG_fail;
}
%typemap(ret) int fn "$result = offkv_py_collapse($result);";
%enddef
%define OFFKV_PY_OUT(obj)
{
  PyObject *offkv_out_ = (obj);
  if (!offkv_out_ || PyList_Append($result, offkv_out_) < 0) {
    Py_XDECREF(offkv_out_);
    Py_CLEAR($result);
    SWIG_fail;
  }
  Py_DECREF(offkv_out_);
}
%enddef

/* ---- Strings in: str only, UTF-8, no embedded NUL ---- */
%typemap(in) const char * {
  if ($input == Py_None) {
    $1 = NULL;
  } else if (offkv_py_as_cstr($input, (const char **)&$1, "$1_name")) {
    SWIG_fail;
  }
}
%typemap(freearg) const char * "";
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) const char * {
  $1 = $input == Py_None || PyUnicode_Check($input);
}
/* Static strings out (strerror, error_name, last_error, version_string). */
%typemap(out) const char * { $result = offkv_py_str($1, "replace"); if (!$result) SWIG_fail; }

/* ---- Handles out ---- */
%define OFFKV_PY_HANDLE_OUT(TYPE)
%typemap(in, numinputs=0) TYPE ** (TYPE *tmp = NULL) { $1 = &tmp; }
%typemap(argout) TYPE ** {
  OFFKV_PY_OUT(SWIG_NewPointerObj(SWIG_as_voidptr(*$1), $descriptor(TYPE *), 0))
}
%enddef
OFFKV_PY_HANDLE_OUT(offkv_client)
OFFKV_PY_HANDLE_OUT(offkv_watch)
OFFKV_PY_HANDLE_OUT(offkv_txn)
OFFKV_PY_HANDLE_OUT(offkv_election)
OFFKV_PY_HANDLE_OUT(offkv_detector)
OFFKV_PY_HANDLE_OUT(offkv_group)
OFFKV_PY_HANDLE_OUT(offkv_lock)

/* ---- Numbers out ---- */
%typemap(in, numinputs=0) int64_t *version (int64_t tmp = 0),
                          int64_t *new_version (int64_t tmp = 0) { $1 = &tmp; }
%typemap(argout) int64_t *version, int64_t *new_version {
  OFFKV_PY_OUT(PyLong_FromLongLong((long long)*$1))
}
%typemap(in, numinputs=0) int *state (int tmp = 0) { $1 = &tmp; }
%typemap(argout) int *state { OFFKV_PY_OUT(PyLong_FromLong(*$1)) }
%typemap(in, numinputs=0) int *is_leader (int tmp = 0), int *held (int tmp = 0) {
  $1 = &tmp;
}
%typemap(argout) int *is_leader, int *held { OFFKV_PY_OUT(PyBool_FromLong(*$1)) }

/* ---- Owned buffers out, freed here ---- */
%typemap(in, numinputs=0) char **created_key (char *tmp = NULL) { $1 = &tmp; }
%typemap(argout) char **created_key {
  PyObject *o = offkv_py_str(*$1, "surrogateescape");
  offkv_string_free(*$1);
  *$1 = NULL;
  OFFKV_PY_OUT(o)
}
%typemap(freearg) char **created_key { offkv_string_free(*$1); }

%typemap(in, numinputs=0) offkv_buf *value (offkv_buf tmp = {NULL, 0}) { $1 = &tmp; }
%typemap(argout) offkv_buf *value {
  PyObject *o = PyBytes_FromStringAndSize($1->data ? $1->data : "", (Py_ssize_t)$1->len);
  offkv_buf_free($1);
  OFFKV_PY_OUT(o)
}
%typemap(freearg) offkv_buf *value { offkv_buf_free($1); }

%typemap(in, numinputs=0) offkv_strings *children (offkv_strings tmp = {NULL, 0}) {
  $1 = &tmp;
}
%typemap(argout) offkv_strings *children {
  PyObject *list = PyList_New((Py_ssize_t)$1->count);
  size_t i;
  for (i = 0; list && i < $1->count; ++i) {
    PyObject *s = offkv_py_str($1->items[i], "surrogateescape");
    if (!s) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, s);
  }
  offkv_strings_free($1);
  OFFKV_PY_OUT(list)
}
%typemap(freearg) offkv_strings *children { offkv_strings_free($1); }

%typemap(in, numinputs=0) offkv_event **event (offkv_event *tmp = NULL) { $1 = &tmp; }
%typemap(argout) offkv_event **event {
  PyObject *o = *$1 ? offkv_py_event(*$1) : SWIG_Py_Void();
  offkv_event_free(*$1);
  *$1 = NULL;
  OFFKV_PY_OUT(o)
}
%typemap(freearg) offkv_event **event { offkv_event_free(*$1); }

/* Transaction results: a list of (version, key) per op. */
%typemap(in, numinputs=0) offkv_txn_result *result (offkv_txn_result tmp) {
  memset(&tmp, 0, sizeof tmp);
  tmp.size = sizeof tmp;
  $1 = &tmp;
}
%typemap(argout) offkv_txn_result *result {
  PyObject *list = PyList_New((Py_ssize_t)$1->count);
  size_t i;
  for (i = 0; list && i < $1->count; ++i) {
    PyObject *key = offkv_py_str($1->ops[i]->key, "surrogateescape");
    PyObject *item = key ? Py_BuildValue("(LN)", (long long)$1->ops[i]->version, key) : NULL;
    if (!item) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, item);
  }
  offkv_txn_result_free($1);
  OFFKV_PY_OUT(list)
}
%typemap(freearg) offkv_txn_result *result { offkv_txn_result_free($1); }

/* Recipe members: (key, sequence, version, payload) and lists of them. */
%typemap(in, numinputs=0) offkv_member *member (offkv_member tmp),
                          offkv_member *leader (offkv_member tmp),
                          offkv_member *self (offkv_member tmp) {
  memset(&tmp, 0, sizeof tmp);
  tmp.size = sizeof tmp;
  $1 = &tmp;
}
%typemap(argout) offkv_member *member, offkv_member *leader, offkv_member *self {
  PyObject *o = offkv_py_member($1);
  offkv_member_free($1);
  OFFKV_PY_OUT(o)
}
%typemap(freearg) offkv_member *member, offkv_member *leader, offkv_member *self {
  offkv_member_free($1);
}
%typemap(in, numinputs=0) offkv_members *members (offkv_members tmp = OFFKV_MEMBERS_INIT) {
  $1 = &tmp;
}
%typemap(argout) offkv_members *members {
  PyObject *o = offkv_py_member_list((const offkv_member *const *)$1->items, $1->count);
  offkv_members_free($1);
  OFFKV_PY_OUT(o)
}
%typemap(freearg) offkv_members *members { offkv_members_free($1); }

/* Counters: a dict {name: value}. */
%typemap(in, numinputs=0) offkv_stats *stats (offkv_stats tmp = OFFKV_STATS_INIT) { $1 = &tmp; }
%typemap(argout) offkv_stats *stats {
  PyObject *dict = PyDict_New();
  size_t i;
  for (i = 0; dict && i < $1->count; ++i) {
    PyObject *v = PyLong_FromUnsignedLongLong((unsigned long long)$1->items[i]->value);
    if (!v || PyDict_SetItemString(dict, $1->items[i]->name, v) < 0) {
      Py_XDECREF(v);
      Py_CLEAR(dict);
      break;
    }
    Py_DECREF(v);
  }
  offkv_stats_free($1);
  OFFKV_PY_OUT(dict)
}
%typemap(freearg) offkv_stats *stats { offkv_stats_free($1); }

/* ---- Values in: any bytes-like object (bytes, bytearray, memoryview), or None for
 * an empty value. A str is refused: values are bytes. ---- */
%typemap(in) (const void *value, size_t value_len) (Py_buffer view, int have_view = 0) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = 0;
  } else {
    if (PyUnicode_Check($input)) {
      PyErr_SetString(PyExc_TypeError, "value must be bytes-like, not str (encode it)");
      SWIG_fail;
    }
    if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0) SWIG_fail;
    have_view = 1;
    $1 = view.buf;
    $2 = (size_t)view.len;
  }
}
%typemap(freearg) (const void *value, size_t value_len) {
  if (have_view$argnum) PyBuffer_Release(&view$argnum);
}
%apply (const void *value, size_t value_len) { (const void *payload, size_t payload_len) };

/* ---- Callbacks in: a Python callable (or None), borrowed: see the trampoline ---- */
%typemap(in) (offkv_event_cb callback, void *user) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = NULL;
  } else if (!PyCallable_Check($input)) {
    PyErr_SetString(PyExc_TypeError, "callback must be callable or None");
    SWIG_fail;
  } else {
    $1 = offkv_py_trampoline;
    $2 = (void *)$input;
  }
}

%typemap(in) (offkv_recipe_cb callback, void *user) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = NULL;
  } else if (!PyCallable_Check($input)) {
    PyErr_SetString(PyExc_TypeError, "callback must be callable or None");
    SWIG_fail;
  } else {
    $1 = offkv_py_recipe_trampoline;
    $2 = (void *)$input;
  }
}

%apply (offkv_event_cb callback, void *user) { (offkv_event_cb watch_cb, void *watch_user) };

/* The log callback: a Python callable (or None), borrowed: see the log trampoline. */
%typemap(in) (offkv_log_cb callback, void *user) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = NULL;
  } else if (!PyCallable_Check($input)) {
    PyErr_SetString(PyExc_TypeError, "callback must be callable or None");
    SWIG_fail;
  } else {
    $1 = offkv_py_log_trampoline;
    $2 = (void *)$input;
  }
}

/* ---- Completions in: a Python callable, owned until its completion has run ---- */
%typemap(in) (offkv_completion_cb done, void *user) (int owned = 0) {
  if (!PyCallable_Check($input)) {
    PyErr_SetString(PyExc_TypeError, "done must be callable");
    SWIG_fail;
  }
  $1 = offkv_py_completion_trampoline;
  $2 = (void *)$input;
}
/* The reference the completion drops: taken just before the call... */
%typemap(check) (offkv_completion_cb done, void *user) {
  Py_INCREF((PyObject *)$2);
  owned$argnum = 1;
}
/* ...and given back if the call refused (then done never runs). */
%typemap(freearg) (offkv_completion_cb done, void *user) {
  if (owned$argnum && result != OFFKV_OK) Py_DECREF((PyObject *)$2);
}

/* ---- Options in: a dict of option names (as in offkv_options) or None ---- */
%typemap(in) const offkv_options *opts (offkv_options tmp, PyObject *keep = NULL) {
  if ($input == Py_None) {
    $1 = NULL;
  } else {
    keep = PyList_New(0);
    /* Initialised first, so that freearg may always reset it. */
    if (!keep || offkv_options_init(&tmp, OFFKV_OPTIONS_VERSION) != OFFKV_OK ||
        offkv_py_options($input, &tmp, keep))
      SWIG_fail;
    $1 = &tmp;
  }
}
/* keep is set only once tmp is initialised; the reset frees what by_name stored. */
%typemap(freearg) const offkv_options *opts {
  if (keep$argnum) offkv_options_reset(&tmp$argnum);
  Py_XDECREF(keep$argnum);
}

/* ---- Python-only helpers for the offkv package ---- */
%inline %{
/* Registers factory(code, message, extra) -> exception used for every failure. */
static PyObject *_set_error_factory(PyObject *factory) {
  if (factory != Py_None && !PyCallable_Check(factory)) {
    PyErr_SetString(PyExc_TypeError, "factory must be callable or None");
    return NULL;
  }
  Py_XDECREF(offkv_py_error_factory);
  offkv_py_error_factory = factory == Py_None ? NULL : factory;
  Py_XINCREF(offkv_py_error_factory);
  Py_RETURN_NONE;
}
/* True while an offkv callback runs on the calling thread. */
static PyObject *_in_callback(void) { return PyBool_FromLong(offkv_py_callback_depth > 0); }
%}

#endif /* SWIGPYTHON */

/* ====================================================================================
 * Part 1 (continued): the classification of every function of the header
 * ==================================================================================== */
/* Plain, never blocking, no error code: offkv_strerror, offkv_error_name,
 * offkv_event_type_name, offkv_session_state_name, offkv_last_error, offkv_last_error_copy, offkv_version,
 * offkv_version_string, offkv_has_backend, offkv_backends, offkv_txn_free. */
OFFKV_CHECKED(offkv_open)
OFFKV_CHECKED(offkv_close)
OFFKV_CHECKED(offkv_get_session_state)
OFFKV_CHECKED(offkv_create)
OFFKV_CHECKED(offkv_set)
OFFKV_CHECKED(offkv_cas)
OFFKV_CHECKED(offkv_get)
OFFKV_CHECKED(offkv_exists)
OFFKV_CHECKED(offkv_children)
OFFKV_CHECKED(offkv_erase)
OFFKV_CHECKED(offkv_get_watch)
OFFKV_CHECKED(offkv_exists_watch)
OFFKV_CHECKED(offkv_children_watch)
OFFKV_CHECKED(offkv_watch_persistent)
OFFKV_CHECKED(offkv_watch_wait)
OFFKV_CHECKED(offkv_watch_cancel)
OFFKV_CHECKED(offkv_txn_new)
OFFKV_CHECKED(offkv_txn_check)
OFFKV_CHECKED(offkv_txn_create)
OFFKV_CHECKED(offkv_txn_set)
OFFKV_CHECKED(offkv_txn_erase)
OFFKV_CHECKED_EX(offkv_commit, OFFKV_SWIG_TXN_EXTRA(arg3))
OFFKV_CHECKED(offkv_create_async)
OFFKV_CHECKED(offkv_set_async)
OFFKV_CHECKED(offkv_cas_async)
OFFKV_CHECKED(offkv_get_async)
OFFKV_CHECKED(offkv_exists_async)
OFFKV_CHECKED(offkv_children_async)
OFFKV_CHECKED(offkv_erase_async)
OFFKV_CHECKED(offkv_commit_async)
OFFKV_CHECKED(offkv_get_watch_async)
OFFKV_CHECKED(offkv_exists_watch_async)
OFFKV_CHECKED(offkv_children_watch_async)
OFFKV_BLOCKING(offkv_client_free)
OFFKV_BLOCKING(offkv_watch_free)
/* Recipes */
OFFKV_CHECKED(offkv_election_contend)
OFFKV_CHECKED(offkv_election_contend_labeled)
OFFKV_CHECKED(offkv_election_is_leader)
OFFKV_CHECKED(offkv_election_wait)
OFFKV_CHECKED(offkv_election_member)
OFFKV_CHECKED(offkv_election_withdraw)
OFFKV_BLOCKING(offkv_election_free)
OFFKV_CHECKED(offkv_detector_open)
OFFKV_CHECKED(offkv_detector_open_labeled)
OFFKV_CHECKED(offkv_detector_leader)
OFFKV_CHECKED(offkv_detector_wait)
OFFKV_CHECKED(offkv_detector_close)
OFFKV_BLOCKING(offkv_detector_free)
OFFKV_CHECKED(offkv_group_open)
OFFKV_CHECKED(offkv_group_open_labeled)
OFFKV_CHECKED(offkv_group_join)
OFFKV_CHECKED(offkv_group_update)
OFFKV_CHECKED(offkv_group_leave)
OFFKV_CHECKED(offkv_group_self)
OFFKV_CHECKED(offkv_group_members)
OFFKV_CHECKED(offkv_group_close)
OFFKV_BLOCKING(offkv_group_free)
OFFKV_CHECKED(offkv_lock_new)
OFFKV_CHECKED(offkv_lock_acquire)
OFFKV_CHECKED(offkv_lock_release)
OFFKV_CHECKED(offkv_lock_is_held)
OFFKV_CHECKED(offkv_lock_member)
OFFKV_BLOCKING(offkv_lock_free)
/* Logs, counters, test kit. offkv_set_log_callback waits for running calls of the
 * previous callback, which may be waiting for the GIL: it must run without it. */
OFFKV_CHECKED(offkv_set_log_callback)
OFFKV_CHECKED(offkv_get_stats)
OFFKV_CHECKED(offkv_testkit_end_watches)
OFFKV_CHECKED(offkv_testkit_suspend)
OFFKV_CHECKED(offkv_testkit_resume)
OFFKV_CHECKED(offkv_testkit_expire)

/* ====================================================================================
 * The header itself
 * ==================================================================================== */
/* OFFKV_API expands to a GCC attribute, which SWIG's parser does not know. */
#define __attribute__(x)
%include "offkv.h"
