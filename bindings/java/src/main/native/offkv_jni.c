/*
 * JNI glue between org.offkv.Native and capi/offkv.h: thin translation only.
 *
 * - Strings cross as byte[] (UTF-8; keys NUL-terminated by the Java side), so no
 *   modified-UTF-8 conversion happens here.
 * - A failed call throws the exception that org.offkv.Native.error(...) builds from
 *   the code, the key and offkv_last_error() (read on this thread, right away).
 * - Callbacks: the `user` pointer is a cbctx holding one JNI global reference to a
 *   Java sink. Every global reference this file creates is counted (live_refs) and
 *   exposed to the tests. The client's event thread is attached to the JVM once
 *   (as a daemon) and detached when it exits, through a pthread key destructor.
 * - The log handler (offkv_set_log_callback) is one more counted global reference;
 *   any native thread that logs (gRPC's, the ZooKeeper client's) is attached the same
 *   way.
 */
#include <jni.h>
#include <offkv.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JNIVER JNI_VERSION_1_8

static JavaVM *jvm;
static pthread_key_t detach_key;
static atomic_long live_refs;      /* global refs to sinks now alive */
static atomic_long attached;       /* event threads attached now */
static atomic_long attached_total; /* event threads ever attached */

/* Classes and methods, resolved once in JNI_OnLoad (permanent, not counted). */
static jclass c_native, c_member, c_bytes, c_opresult;
static jmethodID m_error, m_txn_error, m_event, m_node, m_op, m_member;
static jmethodID m_sink_event, m_sink_recipe, m_sink_complete;
static jmethodID m_log, m_stats;

/* The log handler given to offkv_set_log_callback (a counted global ref, or NULL);
 * replaced under log_mutex, and deleted only once offkv_set_log_callback returned
 * (no call of it runs any more). */
static jobject log_handler;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

/* ---- helpers ---- */

static jbyteArray new_bytes(JNIEnv *env, const char *p, size_t n) {
  jbyteArray a = (*env)->NewByteArray(env, (jsize)n);
  if (a && n) (*env)->SetByteArrayRegion(env, a, 0, (jsize)n, (const jbyte *)p);
  return a;
}

static jbyteArray new_cstr(JNIEnv *env, const char *s) {
  return s ? new_bytes(env, s, strlen(s)) : NULL;
}

/* Throws the exception of code rc for key (a NUL-terminated byte[], may be NULL). */
static void throw_rc(JNIEnv *env, int rc, jbyteArray key) {
  if ((*env)->ExceptionCheck(env)) return;
  jbyteArray msg = new_cstr(env, offkv_last_error());
  if (!msg) return;
  jobject ex = (*env)->CallStaticObjectMethod(env, c_native, m_error, (jint)rc, key, msg);
  if (ex && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable)ex);
}

/* A byte[] pinned (or copied) for the duration of a call. */
typedef struct {
  jbyteArray arr;
  jbyte *p;
  jsize n;
} bytes_in;

static int bin(JNIEnv *env, jbyteArray a, bytes_in *b) {
  b->arr = a;
  b->p = NULL;
  b->n = 0;
  if (!a) return 1;
  b->n = (*env)->GetArrayLength(env, a);
  b->p = (*env)->GetByteArrayElements(env, a, NULL);
  return b->p != NULL;
}

static void bout(JNIEnv *env, bytes_in *b) {
  if (b->p) (*env)->ReleaseByteArrayElements(env, b->arr, b->p, JNI_ABORT);
  b->p = NULL;
}

#define CSTR(b) ((const char *)(b).p)
#define DATA(b) ((const void *)(b).p)
#define LEN(b) ((size_t)(b).n)

static jobject member_obj(JNIEnv *env, const offkv_member *m) {
  if (!m) return NULL;
  jbyteArray key = new_cstr(env, m->key);
  jbyteArray payload = new_bytes(env, m->payload.data, m->payload.len);
  if ((*env)->ExceptionCheck(env)) return NULL;
  jobject o = (*env)->CallStaticObjectMethod(env, c_native, m_member, key, (jlong)m->sequence,
                                             (jlong)m->version, payload);
  (*env)->DeleteLocalRef(env, key);
  (*env)->DeleteLocalRef(env, payload);
  return o;
}

static jobjectArray strings_arr(JNIEnv *env, const offkv_strings *s) {
  jobjectArray out = (*env)->NewObjectArray(env, (jsize)s->count, c_bytes, NULL);
  for (size_t i = 0; out && i < s->count; i++) {
    jbyteArray b = new_cstr(env, s->items[i]);
    if (!b) return NULL;
    (*env)->SetObjectArrayElement(env, out, (jsize)i, b);
    (*env)->DeleteLocalRef(env, b);
  }
  return out;
}

static jobject event_obj(JNIEnv *env, const offkv_event *ev) {
  jbyteArray key = new_cstr(env, ev->key);
  jbyteArray msg = new_cstr(env, ev->message ? ev->message : "");
  if ((*env)->ExceptionCheck(env)) return NULL;
  return (*env)->CallStaticObjectMethod(env, c_native, m_event, (jint)ev->type, key,
                                        (jlong)ev->version, (jint)ev->session_state,
                                        (jint)ev->error, msg);
}

static void *ptr(jlong p) { return (void *)(intptr_t)p; }
static jlong jptr(const void *p) { return (jlong)(intptr_t)p; }

/* ---- callbacks ---- */

typedef struct cbctx {
  jobject sink;       /* global ref */
  atomic_int refs;    /* owners: the handle's free path, and for sessions CLOSED */
  atomic_int closed_seen;
  int session;
} cbctx;

static cbctx *ctx_new(JNIEnv *env, jobject sink, int session) {
  if (!sink) return NULL;
  cbctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->sink = (*env)->NewGlobalRef(env, sink);
  if (!c->sink) {
    free(c);
    return NULL;
  }
  atomic_fetch_add(&live_refs, 1);
  atomic_init(&c->refs, session ? 2 : 1);
  c->session = session;
  return c;
}

static void ctx_release(JNIEnv *env, cbctx *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
  (*env)->DeleteGlobalRef(env, c->sink);
  atomic_fetch_sub(&live_refs, 1);
  free(c);
}

static void detach_thread(void *unused) {
  (void)unused;
  if (jvm && (*jvm)->DetachCurrentThread(jvm) == JNI_OK) atomic_fetch_sub(&attached, 1);
}

/* The JNIEnv of the calling (event) thread, attaching it once. */
static JNIEnv *callback_env(void) {
  JNIEnv *env = NULL;
  jint rc = (*jvm)->GetEnv(jvm, (void **)&env, JNIVER);
  if (rc == JNI_OK) return env;
  if (rc != JNI_EDETACHED) return NULL;
  JavaVMAttachArgs args = {JNIVER, (char *)"offkv-event", NULL};
  if ((*jvm)->AttachCurrentThreadAsDaemon(jvm, (void **)&env, &args) != JNI_OK) return NULL;
  atomic_fetch_add(&attached, 1);
  atomic_fetch_add(&attached_total, 1);
  pthread_setspecific(detach_key, (void *)1);
  return env;
}

static void on_event(const offkv_event *ev, void *user) {
  cbctx *c = user;
  JNIEnv *env = callback_env();
  if (!env || !c) return;
  int last = c->session && ev->type == OFFKV_EVENT_SESSION &&
             ev->session_state == OFFKV_SESSION_CLOSED;
  if ((*env)->PushLocalFrame(env, 16) == 0) {
    jobject sink = (*env)->NewLocalRef(env, c->sink);
    jbyteArray key = new_cstr(env, ev->key);
    jbyteArray msg = new_cstr(env, ev->message ? ev->message : "");
    if (sink && !(*env)->ExceptionCheck(env))
      (*env)->CallVoidMethod(env, sink, m_sink_event, (jint)ev->type, key, (jlong)ev->version,
                             (jint)ev->session_state, (jint)ev->error, msg);
    (*env)->PopLocalFrame(env, NULL);
  }
  /* The Java side catches everything; anything left (OutOfMemoryError) must not stay
   * pending on a thread that returns to C. */
  if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env);
  /* For a one-shot or a recipe, `c` may be freed by now (the callback may have freed
   * its own handle): it is only touched again for the session's last event. */
  if (last) {
    atomic_store(&c->closed_seen, 1);
    ctx_release(env, c);
  }
}

static void on_recipe(const offkv_recipe_event *ev, void *user) {
  cbctx *c = user;
  JNIEnv *env = callback_env();
  if (!env || !c) return;
  if ((*env)->PushLocalFrame(env, 16 + (jint)ev->member_count) == 0) {
    jobject sink = (*env)->NewLocalRef(env, c->sink);
    jobject member = member_obj(env, ev->member);
    jbyteArray group = new_cstr(env, ev->group);
    jbyteArray msg = new_cstr(env, ev->message ? ev->message : "");
    jobjectArray members = NULL;
    if (ev->type == OFFKV_EVENT_MEMBERS && !(*env)->ExceptionCheck(env)) {
      members = (*env)->NewObjectArray(env, (jsize)ev->member_count, c_member, NULL);
      for (size_t i = 0; members && i < ev->member_count; i++) {
        jobject m = member_obj(env, ev->members[i]);
        if (!m) break;
        (*env)->SetObjectArrayElement(env, members, (jsize)i, m);
        (*env)->DeleteLocalRef(env, m);
      }
    }
    if (sink && !(*env)->ExceptionCheck(env))
      (*env)->CallVoidMethod(env, sink, m_sink_recipe, (jint)ev->type, member, group, members,
                             (jint)ev->session_state, (jint)ev->error, msg);
    (*env)->PopLocalFrame(env, NULL);
  }
  if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env);
}

/* The process-wide log callback: any thread that logs, the library's own included;
 * callback_env attaches it to the JVM (as a daemon) if needed. user is the handler's
 * global ref. Nothing thrown stays pending. */
static void on_log(int level, const char *component, const char *message, void *user) {
  JNIEnv *env = callback_env();
  if (!env || !user) return;
  if ((*env)->PushLocalFrame(env, 8) == 0) {
    jbyteArray comp = new_cstr(env, component ? component : "");
    jbyteArray msg = new_cstr(env, message ? message : "");
    if (!(*env)->ExceptionCheck(env))
      (*env)->CallStaticVoidMethod(env, c_native, m_log, (jobject)user, (jint)level, comp, msg);
    (*env)->PopLocalFrame(env, NULL);
  }
  if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env);
}

/* ---- load ---- */

static jclass global_class(JNIEnv *env, const char *name) {
  jclass local = (*env)->FindClass(env, name);
  if (!local) return NULL;
  jclass g = (*env)->NewGlobalRef(env, local);
  (*env)->DeleteLocalRef(env, local);
  return g;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
  (void)reserved;
  JNIEnv *env;
  jvm = vm;
  if ((*vm)->GetEnv(vm, (void **)&env, JNIVER) != JNI_OK) return JNI_ERR;
  if (pthread_key_create(&detach_key, detach_thread) != 0) return JNI_ERR;
  if (!(c_native = global_class(env, "org/offkv/Native"))) return JNI_ERR;
  if (!(c_member = global_class(env, "org/offkv/Member"))) return JNI_ERR;
  if (!(c_bytes = global_class(env, "[B"))) return JNI_ERR;
  if (!(c_opresult = global_class(env, "org/offkv/OpResult"))) return JNI_ERR;
  jclass sink = (*env)->FindClass(env, "org/offkv/Sink");
  if (!sink) return JNI_ERR;
#define SM(var, name, sig)                                                        \
  if (!(var = (*env)->GetStaticMethodID(env, c_native, name, sig))) return JNI_ERR
  SM(m_error, "error", "(I[B[B)Ljava/lang/Throwable;");
  SM(m_txn_error, "txnError", "(JI[B)Ljava/lang/Throwable;");
  SM(m_event, "event", "(I[BJII[B)Lorg/offkv/Event;");
  SM(m_node, "node", "([BJ)Lorg/offkv/Node;");
  SM(m_op, "opResult", "([BJ)Lorg/offkv/OpResult;");
  SM(m_member, "member", "([BJJ[B)Lorg/offkv/Member;");
  SM(m_log, "log", "(Lorg/offkv/LogHandler;I[B[B)V");
  SM(m_stats, "statsMap", "([[B[J)Ljava/util/Map;");
#undef SM
  if (!(m_sink_event = (*env)->GetMethodID(env, sink, "onEvent", "(I[BJII[B)V"))) return JNI_ERR;
  if (!(m_sink_recipe = (*env)->GetMethodID(
            env, sink, "onRecipe", "(ILorg/offkv/Member;[B[Lorg/offkv/Member;II[B)V")))
    return JNI_ERR;
  if (!(m_sink_complete = (*env)->GetMethodID(env, sink, "onComplete",
                                              "(I[BJLjava/lang/Object;JIJJ)Z")))
    return JNI_ERR;
  return JNIVER;
}

#define FN(ret, name) JNIEXPORT ret JNICALL Java_org_offkv_Native_##name
#define ARGS JNIEnv *env, jclass cls

/* ---- library-wide ---- */

FN(jint, version)(ARGS) { (void)cls; (void)env; return offkv_version(); }
FN(jbyteArray, versionString)(ARGS) { (void)cls; return new_cstr(env, offkv_version_string()); }
FN(jbyteArray, strerror)(ARGS, jint code) { (void)cls; return new_cstr(env, offkv_strerror(code)); }
FN(jbyteArray, errorName)(ARGS, jint code) { (void)cls; return new_cstr(env, offkv_error_name(code)); }
FN(jbyteArray, eventTypeName)(ARGS, jint type) { (void)cls; return new_cstr(env, offkv_event_type_name(type)); }
FN(jbyteArray, sessionStateName)(ARGS, jint state) { (void)cls; return new_cstr(env, offkv_session_state_name(state)); }
FN(jbyteArray, backends)(ARGS) { (void)cls; return new_cstr(env, offkv_backends()); }
FN(jbyteArray, lastError)(ARGS) { (void)cls; return new_cstr(env, offkv_last_error()); }
FN(jlong, liveGlobalRefs)(ARGS) { (void)cls; (void)env; return atomic_load(&live_refs); }
FN(jlong, attachedThreads)(ARGS) { (void)cls; (void)env; return atomic_load(&attached); }
FN(jlong, attachedTotal)(ARGS) { (void)cls; (void)env; return atomic_load(&attached_total); }

FN(jboolean, hasBackend)(ARGS, jbyteArray scheme) {
  (void)cls;
  bytes_in s;
  if (!bin(env, scheme, &s)) return JNI_FALSE;
  int r = offkv_has_backend(CSTR(s));
  bout(env, &s);
  return r ? JNI_TRUE : JNI_FALSE;
}

/* ---- clients ---- */

/* out[0] = client, out[1] = session ctx. Strings are NUL-terminated byte[] or NULL. */
FN(void, open)(ARGS, jbyteArray url, jint session_ms, jint connect_ms, jint op_ms,
               jbyteArray ca, jbyteArray cert, jbyteArray key, jbyteArray user,
               jbyteArray password, jbyteArray token, jint consistency,
               jobjectArray names, jobjectArray values, jobject sink, jlongArray out) {
  (void)cls;
  offkv_options o;
  int rc = offkv_options_init(&o, OFFKV_OPTIONS_VERSION);
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, NULL);
    return;
  }
  bytes_in u, a, c, k, us, pw, t;
  bin(env, url, &u);
  bin(env, ca, &a);
  bin(env, cert, &c);
  bin(env, key, &k);
  bin(env, user, &us);
  bin(env, password, &pw);
  bin(env, token, &t);
  o.session_timeout_ms = session_ms;
  o.connect_timeout_ms = connect_ms;
  o.operation_timeout_ms = op_ms;
  o.tls_ca_file = CSTR(a);
  o.tls_cert_file = CSTR(c);
  o.tls_key_file = CSTR(k);
  o.username = CSTR(us);
  o.password = CSTR(pw);
  o.token = CSTR(t);
  o.read_consistency = consistency;
  /* Options by name: checked and copied by the library (freed by the reset below). */
  jsize nnamed = names ? (*env)->GetArrayLength(env, names) : 0;
  for (jsize i = 0; i < nnamed && rc == OFFKV_OK; ++i) {
    bytes_in n, v;
    bin(env, (jbyteArray)(*env)->GetObjectArrayElement(env, names, i), &n);
    bin(env, (jbyteArray)(*env)->GetObjectArrayElement(env, values, i), &v);
    rc = offkv_options_set(&o, CSTR(n), CSTR(v));
    bout(env, &n);
    bout(env, &v);
  }
  /* A refused option: no client is opened, the common clean-up below still runs. */
  const int refused = rc != OFFKV_OK;
  cbctx *ctx = refused ? NULL : ctx_new(env, sink, 1);
  if (ctx) {
    o.session_callback = on_event;
    o.session_user = ctx;
  }
  offkv_client *client = NULL;
  if (!refused) rc = (sink && !ctx) ? OFFKV_ENOMEM : offkv_open(CSTR(u), &o, &client);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL); /* before the reset changes the error */
  offkv_options_reset(&o);
  bout(env, &a);
  bout(env, &c);
  bout(env, &k);
  bout(env, &us);
  bout(env, &pw);
  bout(env, &t);
  if (rc != OFFKV_OK) {
    /* No client: no callback was or will be called. */
    if (ctx) {
      ctx_release(env, ctx);
      ctx_release(env, ctx);
    }
    bout(env, &u);
    return;
  }
  bout(env, &u);
  jlong vals[2] = {jptr(client), jptr(ctx)};
  (*env)->SetLongArrayRegion(env, out, 0, 2, vals);
}

FN(void, close)(ARGS, jlong client) {
  (void)cls;
  int rc = offkv_close(ptr(client));
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

/* deferred: free called away from the event thread after a close made inside a
 * callback, so the session's last events may still be on their way. */
FN(void, clientFree)(ARGS, jlong client, jlong ctx, jboolean deferred) {
  (void)cls;
  offkv_client_free(ptr(client));
  cbctx *c = ptr(ctx);
  if (!c) return;
  if (!deferred && !atomic_load(&c->closed_seen)) ctx_release(env, c); /* never coming */
  ctx_release(env, c);
}

FN(jint, sessionState)(ARGS, jlong client) {
  (void)cls;
  int st = 0;
  int rc = offkv_get_session_state(ptr(client), &st);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
  return st;
}

/* ---- nodes ---- */

FN(jbyteArray, create)(ARGS, jlong client, jbyteArray key, jbyteArray value, jint flags) {
  (void)cls;
  bytes_in k, v;
  if (!bin(env, key, &k) || !bin(env, value, &v)) return NULL;
  char *created = NULL;
  int rc = offkv_create(ptr(client), CSTR(k), DATA(v), LEN(v), flags, &created);
  bout(env, &v);
  bout(env, &k);
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, key);
    return NULL;
  }
  jbyteArray out = new_cstr(env, created);
  offkv_string_free(created);
  return out;
}

FN(jlong, set)(ARGS, jlong client, jbyteArray key, jbyteArray value) {
  (void)cls;
  bytes_in k, v;
  if (!bin(env, key, &k) || !bin(env, value, &v)) return 0;
  int64_t version = 0;
  int rc = offkv_set(ptr(client), CSTR(k), DATA(v), LEN(v), &version);
  bout(env, &v);
  bout(env, &k);
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
  return version;
}

FN(jlong, cas)(ARGS, jlong client, jbyteArray key, jbyteArray value, jlong expected) {
  (void)cls;
  bytes_in k, v;
  if (!bin(env, key, &k) || !bin(env, value, &v)) return 0;
  int64_t version = 0;
  int rc = offkv_cas(ptr(client), CSTR(k), DATA(v), LEN(v), expected, &version);
  bout(env, &v);
  bout(env, &k);
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
  return version;
}

FN(jobject, get)(ARGS, jlong client, jbyteArray key) {
  (void)cls;
  bytes_in k;
  if (!bin(env, key, &k)) return NULL;
  offkv_buf value = {NULL, 0};
  int64_t version = 0;
  int rc = offkv_get(ptr(client), CSTR(k), &value, &version);
  bout(env, &k);
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, key);
    return NULL;
  }
  jbyteArray v = new_bytes(env, value.data, value.len);
  offkv_buf_free(&value);
  if (!v) return NULL;
  return (*env)->CallStaticObjectMethod(env, c_native, m_node, v, (jlong)version);
}

FN(jlong, exists)(ARGS, jlong client, jbyteArray key) {
  (void)cls;
  bytes_in k;
  if (!bin(env, key, &k)) return 0;
  int64_t version = 0;
  int rc = offkv_exists(ptr(client), CSTR(k), &version);
  bout(env, &k);
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
  return version;
}

FN(jobjectArray, children)(ARGS, jlong client, jbyteArray key) {
  (void)cls;
  bytes_in k;
  if (!bin(env, key, &k)) return NULL;
  offkv_strings s = {NULL, 0};
  int rc = offkv_children(ptr(client), CSTR(k), &s);
  bout(env, &k);
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, key);
    return NULL;
  }
  jobjectArray out = strings_arr(env, &s);
  offkv_strings_free(&s);
  return out;
}

FN(void, erase)(ARGS, jlong client, jbyteArray key, jlong expected) {
  (void)cls;
  bytes_in k;
  if (!bin(env, key, &k)) return;
  int rc = offkv_erase(ptr(client), CSTR(k), expected);
  bout(env, &k);
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
}

/* ---- watches ----
 * handles[0] = watch, handles[1] = ctx (0 without a sink). kind: 0 get, 1 exists,
 * 2 children, 3 persistent. Returns the read's result: Node, Long or byte[][]. */

FN(jobject, watch)(ARGS, jint kind, jlong client, jbyteArray key, jobject sink,
                   jlongArray handles) {
  (void)cls;
  bytes_in k;
  if (!bin(env, key, &k)) return NULL;
  cbctx *ctx = ctx_new(env, sink, 0);
  if (sink && !ctx) {
    bout(env, &k);
    throw_rc(env, OFFKV_ENOMEM, key);
    return NULL;
  }
  offkv_event_cb cb = ctx ? on_event : NULL;
  offkv_watch *w = NULL;
  offkv_buf value = {NULL, 0};
  offkv_strings s = {NULL, 0};
  int64_t version = 0;
  int rc;
  switch (kind) {
  case 0: rc = offkv_get_watch(ptr(client), CSTR(k), &value, &version, cb, ctx, &w); break;
  case 1: rc = offkv_exists_watch(ptr(client), CSTR(k), &version, cb, ctx, &w); break;
  case 2: rc = offkv_children_watch(ptr(client), CSTR(k), &s, cb, ctx, &w); break;
  default: rc = offkv_watch_persistent(ptr(client), CSTR(k), cb, ctx, &w); break;
  }
  bout(env, &k);
  if (rc != OFFKV_OK) {
    ctx_release(env, ctx); /* no watch: never called */
    throw_rc(env, rc, key);
    return NULL;
  }
  jlong vals[2] = {jptr(w), jptr(ctx)};
  (*env)->SetLongArrayRegion(env, handles, 0, 2, vals);
  jobject out = NULL;
  if (kind == 0) {
    jbyteArray v = new_bytes(env, value.data, value.len);
    if (v) out = (*env)->CallStaticObjectMethod(env, c_native, m_node, v, (jlong)version);
  } else if (kind == 2) {
    out = strings_arr(env, &s);
  }
  offkv_buf_free(&value);
  offkv_strings_free(&s);
  if (kind == 1) {
    jclass lc = (*env)->FindClass(env, "java/lang/Long");
    jmethodID vo = lc ? (*env)->GetStaticMethodID(env, lc, "valueOf", "(J)Ljava/lang/Long;") : NULL;
    if (vo) out = (*env)->CallStaticObjectMethod(env, lc, vo, (jlong)version);
  }
  if ((*env)->ExceptionCheck(env)) {
    /* Could not hand the watch over: do not leak it. */
    offkv_watch_free(w);
    ctx_release(env, ctx);
    return NULL;
  }
  return out;
}

/* Returns the event, or NULL on OFFKV_ETIMEOUT; throws for other codes. */
FN(jobject, watchWait)(ARGS, jlong watch, jint timeout_ms) {
  (void)cls;
  offkv_event *ev = NULL;
  int rc = offkv_watch_wait(ptr(watch), timeout_ms, &ev);
  if (rc == OFFKV_ETIMEOUT) return NULL;
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, NULL);
    return NULL;
  }
  jobject out = event_obj(env, ev);
  offkv_event_free(ev);
  return out;
}

FN(void, watchCancel)(ARGS, jlong watch) {
  (void)cls;
  int rc = offkv_watch_cancel(ptr(watch));
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

FN(void, watchFree)(ARGS, jlong watch, jlong ctx) {
  (void)cls;
  offkv_watch_free(ptr(watch)); /* after it returns the callback is never called */
  ctx_release(env, ptr(ctx));
}

/* ---- transactions ---- */

FN(jlong, txnNew)(ARGS) {
  (void)cls;
  offkv_txn *t = NULL;
  int rc = offkv_txn_new(&t);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
  return jptr(t);
}

FN(void, txnFree)(ARGS, jlong txn) { (void)cls; (void)env; offkv_txn_free(ptr(txn)); }

/* op: 0 check, 1 create, 2 set, 3 erase */
FN(void, txnAdd)(ARGS, jlong txn, jint op, jbyteArray key, jbyteArray value, jlong num) {
  (void)cls;
  bytes_in k, v;
  if (!bin(env, key, &k) || !bin(env, value, &v)) return;
  int rc;
  switch (op) {
  case 0: rc = offkv_txn_check(ptr(txn), CSTR(k), num); break;
  case 1: rc = offkv_txn_create(ptr(txn), CSTR(k), DATA(v), LEN(v), (int)num); break;
  case 2: rc = offkv_txn_set(ptr(txn), CSTR(k), DATA(v), LEN(v)); break;
  default: rc = offkv_txn_erase(ptr(txn), CSTR(k), num); break;
  }
  bout(env, &v);
  bout(env, &k);
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
}

/* One OpResult per op of a committed transaction. */
static jobjectArray op_results(JNIEnv *env, const offkv_txn_result *r) {
  size_t count = r ? r->count : 0;
  jobjectArray out = (*env)->NewObjectArray(env, (jsize)count, c_opresult, NULL);
  for (size_t i = 0; out && i < count; i++) {
    jbyteArray key = new_cstr(env, r->ops[i]->key);
    jobject o = key ? (*env)->CallStaticObjectMethod(env, c_native, m_op, key, (jlong)r->ops[i]->version)
                    : NULL;
    if (!o) return NULL;
    (*env)->SetObjectArrayElement(env, out, (jsize)i, o);
    (*env)->DeleteLocalRef(env, o);
    (*env)->DeleteLocalRef(env, key);
  }
  return out;
}

FN(jobjectArray, commit)(ARGS, jlong client, jlong txn) {
  (void)cls;
  offkv_txn_result r = OFFKV_TXN_RESULT_INIT;
  int rc = offkv_commit(ptr(client), ptr(txn), &r);
  if (rc == OFFKV_ETXN) {
    jbyteArray msg = new_cstr(env, offkv_last_error());
    jlong index = (jlong)r.failed_index;
    jint code = (jint)r.failed_code;
    offkv_txn_result_free(&r);
    if (!msg) return NULL;
    jobject ex = (*env)->CallStaticObjectMethod(env, c_native, m_txn_error, index, code, msg);
    if (ex && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable)ex);
    return NULL;
  }
  if (rc != OFFKV_OK) {
    offkv_txn_result_free(&r);
    throw_rc(env, rc, NULL);
    return NULL;
  }
  jobjectArray out = op_results(env, &r);
  offkv_txn_result_free(&r);
  return out;
}

/* ---- recipes ---- */

static jobject member_result(JNIEnv *env, int rc, offkv_member *m) {
  if (rc == OFFKV_ENOENT) return NULL; /* "none": the Java side gives Optional.empty() */
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, NULL);
    return NULL;
  }
  jobject o = member_obj(env, m);
  offkv_member_free(m);
  return o;
}

/* handles[0] = recipe handle, handles[1] = ctx */
static void set_handles(JNIEnv *env, jlongArray handles, void *h, cbctx *ctx) {
  jlong vals[2] = {jptr(h), jptr(ctx)};
  (*env)->SetLongArrayRegion(env, handles, 0, 2, vals);
}

/* label NULL: offkv's member names; else Mesos' layout. */
FN(void, electionContend)(ARGS, jlong client, jbyteArray group, jbyteArray label,
                          jbyteArray payload, jobject sink, jlongArray handles) {
  (void)cls;
  bytes_in g, l, p;
  if (!bin(env, group, &g) || !bin(env, label, &l) || !bin(env, payload, &p)) return;
  cbctx *ctx = ctx_new(env, sink, 0);
  offkv_election *e = NULL;
  int rc = (sink && !ctx) ? OFFKV_ENOMEM
                          : offkv_election_contend_labeled(ptr(client), CSTR(g), CSTR(l),
                                                           DATA(p), LEN(p),
                                                           ctx ? on_recipe : NULL, ctx, &e);
  bout(env, &p);
  bout(env, &l);
  bout(env, &g);
  if (rc != OFFKV_OK) {
    ctx_release(env, ctx);
    throw_rc(env, rc, group);
    return;
  }
  set_handles(env, handles, e, ctx);
}

FN(jboolean, electionIsLeader)(ARGS, jlong e) {
  (void)cls;
  int leader = 0;
  int rc = offkv_election_is_leader(ptr(e), &leader);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
  return leader ? JNI_TRUE : JNI_FALSE;
}

/* false on OFFKV_ETIMEOUT */
FN(jboolean, electionWait)(ARGS, jlong e, jboolean leader, jint timeout_ms) {
  (void)cls;
  int rc = offkv_election_wait(ptr(e), leader ? 1 : 0, timeout_ms);
  if (rc == OFFKV_ETIMEOUT) return JNI_FALSE;
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
  return JNI_TRUE;
}

FN(jobject, electionMember)(ARGS, jlong e) {
  (void)cls;
  offkv_member m = OFFKV_MEMBER_INIT;
  return member_result(env, offkv_election_member(ptr(e), &m), &m);
}

FN(void, electionWithdraw)(ARGS, jlong e) {
  (void)cls;
  int rc = offkv_election_withdraw(ptr(e));
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

FN(void, electionFree)(ARGS, jlong e, jlong ctx) {
  (void)cls;
  offkv_election_free(ptr(e));
  ctx_release(env, ptr(ctx));
}

FN(void, detectorOpen)(ARGS, jlong client, jbyteArray group, jbyteArray label, jobject sink,
                       jlongArray handles) {
  (void)cls;
  bytes_in g, l;
  if (!bin(env, group, &g) || !bin(env, label, &l)) return;
  cbctx *ctx = ctx_new(env, sink, 0);
  offkv_detector *d = NULL;
  int rc = (sink && !ctx) ? OFFKV_ENOMEM
                          : offkv_detector_open_labeled(ptr(client), CSTR(g), CSTR(l),
                                                        ctx ? on_recipe : NULL, ctx, &d);
  bout(env, &l);
  bout(env, &g);
  if (rc != OFFKV_OK) {
    ctx_release(env, ctx);
    throw_rc(env, rc, group);
    return;
  }
  set_handles(env, handles, d, ctx);
}

FN(jobject, detectorLeader)(ARGS, jlong d) {
  (void)cls;
  offkv_member m = OFFKV_MEMBER_INIT;
  return member_result(env, offkv_detector_leader(ptr(d), &m), &m);
}

/* Returns the new leader, or NULL for "no leader"; throws (ETIMEOUT included). */
FN(jobject, detectorWait)(ARGS, jlong d, jbyteArray previous, jint timeout_ms) {
  (void)cls;
  bytes_in p;
  if (!bin(env, previous, &p)) return NULL;
  offkv_member m = OFFKV_MEMBER_INIT;
  int rc = offkv_detector_wait(ptr(d), CSTR(p), timeout_ms, &m);
  bout(env, &p);
  return member_result(env, rc, &m);
}

FN(void, detectorClose)(ARGS, jlong d) {
  (void)cls;
  int rc = offkv_detector_close(ptr(d));
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

FN(void, detectorFree)(ARGS, jlong d, jlong ctx) {
  (void)cls;
  offkv_detector_free(ptr(d));
  ctx_release(env, ptr(ctx));
}

FN(void, groupOpen)(ARGS, jlong client, jbyteArray group, jbyteArray label, jobject sink,
                    jlongArray handles) {
  (void)cls;
  bytes_in g, l;
  if (!bin(env, group, &g) || !bin(env, label, &l)) return;
  cbctx *ctx = ctx_new(env, sink, 0);
  offkv_group *h = NULL;
  int rc = (sink && !ctx) ? OFFKV_ENOMEM
                          : offkv_group_open_labeled(ptr(client), CSTR(g), CSTR(l),
                                                     ctx ? on_recipe : NULL, ctx, &h);
  bout(env, &l);
  bout(env, &g);
  if (rc != OFFKV_OK) {
    ctx_release(env, ctx);
    throw_rc(env, rc, group);
    return;
  }
  set_handles(env, handles, h, ctx);
}

/* op: 0 join, 1 update, 2 leave, 3 close */
FN(void, groupOp)(ARGS, jlong g, jint op, jbyteArray payload) {
  (void)cls;
  bytes_in p;
  if (!bin(env, payload, &p)) return;
  int rc;
  switch (op) {
  case 0: rc = offkv_group_join(ptr(g), DATA(p), LEN(p)); break;
  case 1: rc = offkv_group_update(ptr(g), DATA(p), LEN(p)); break;
  case 2: rc = offkv_group_leave(ptr(g)); break;
  default: rc = offkv_group_close(ptr(g)); break;
  }
  bout(env, &p);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

FN(jobject, groupSelf)(ARGS, jlong g) {
  (void)cls;
  offkv_member m = OFFKV_MEMBER_INIT;
  return member_result(env, offkv_group_self(ptr(g), &m), &m);
}

FN(jobjectArray, groupMembers)(ARGS, jlong g) {
  (void)cls;
  offkv_members ms = OFFKV_MEMBERS_INIT;
  int rc = offkv_group_members(ptr(g), &ms);
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, NULL);
    return NULL;
  }
  jobjectArray out = (*env)->NewObjectArray(env, (jsize)ms.count, c_member, NULL);
  for (size_t i = 0; out && i < ms.count; i++) {
    jobject m = member_obj(env, ms.items[i]);
    if (!m) {
      out = NULL;
      break;
    }
    (*env)->SetObjectArrayElement(env, out, (jsize)i, m);
    (*env)->DeleteLocalRef(env, m);
  }
  offkv_members_free(&ms);
  return out;
}

FN(void, groupFree)(ARGS, jlong g, jlong ctx) {
  (void)cls;
  offkv_group_free(ptr(g));
  ctx_release(env, ptr(ctx));
}

FN(jlong, lockNew)(ARGS, jlong client, jbyteArray key) {
  (void)cls;
  bytes_in k;
  if (!bin(env, key, &k)) return 0;
  offkv_lock *l = NULL;
  int rc = offkv_lock_new(ptr(client), CSTR(k), &l);
  bout(env, &k);
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
  return jptr(l);
}

/* false on OFFKV_ETIMEOUT */
FN(jboolean, lockAcquire)(ARGS, jlong l, jint timeout_ms, jbyteArray key) {
  (void)cls;
  int rc = offkv_lock_acquire(ptr(l), timeout_ms);
  if (rc == OFFKV_ETIMEOUT) return JNI_FALSE;
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
  return JNI_TRUE;
}

FN(void, lockRelease)(ARGS, jlong l, jbyteArray key) {
  (void)cls;
  int rc = offkv_lock_release(ptr(l));
  if (rc != OFFKV_OK) throw_rc(env, rc, key);
}

FN(jboolean, lockIsHeld)(ARGS, jlong l) {
  (void)cls;
  int held = 0;
  int rc = offkv_lock_is_held(ptr(l), &held);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
  return held ? JNI_TRUE : JNI_FALSE;
}

FN(jobject, lockMember)(ARGS, jlong l) {
  (void)cls;
  offkv_member m = OFFKV_MEMBER_INIT;
  return member_result(env, offkv_lock_member(ptr(l), &m), &m);
}

FN(void, lockFree)(ARGS, jlong l) { (void)cls; (void)env; offkv_lock_free(ptr(l)); }

/* ---- asynchronous calls ----
 * Each call's `user` is an actx holding one JNI global reference to the Java
 * AsyncCall (a Sink), released exactly once: in on_complete, or right away when the C
 * call refuses (then `done` never runs). A watch-arming read also carries the watch
 * listener's cbctx; the Watch object takes it over with the watch handle, or it is
 * released here when no watch was handed over. */

enum {
  A_CREATE, A_SET, A_CAS, A_GET, A_EXISTS, A_CHILDREN, A_ERASE, A_COMMIT,
  A_GET_WATCH, A_EXISTS_WATCH, A_CHILDREN_WATCH
};

typedef struct actx {
  jobject call; /* global ref to the AsyncCall */
  cbctx *wctx;  /* watch listener (watch-arming reads with a listener), or NULL */
  int op;
} actx;

static void actx_free(JNIEnv *env, actx *a) {
  (*env)->DeleteGlobalRef(env, a->call);
  atomic_fetch_sub(&live_refs, 1);
  free(a);
}

static void on_complete(const offkv_completion *c, void *user) {
  actx *a = user;
  JNIEnv *env = callback_env();
  if (!env || !a) {
    /* Java cannot be reached: at least do not keep the server-side watch. */
    if (c->watch) offkv_watch_free(c->watch);
    return;
  }
  jboolean took = JNI_FALSE; /* the Java side now owns c->watch and a->wctx */
  if ((*env)->PushLocalFrame(env, 16) == 0) {
    jbyteArray msg = new_cstr(env, c->message ? c->message : "");
    jobject result = NULL;
    jlong failed_index = -1;
    jint failed_code = 0;
    if (c->error == OFFKV_OK) {
      switch (a->op) {
      case A_CREATE: result = new_cstr(env, c->key); break;
      case A_GET:
      case A_GET_WATCH: {
        jbyteArray v = new_bytes(env, c->value, c->value_len);
        if (v) result = (*env)->CallStaticObjectMethod(env, c_native, m_node, v, (jlong)c->version);
        break;
      }
      case A_CHILDREN:
      case A_CHILDREN_WATCH: {
        offkv_strings s = {(char **)c->children, c->child_count};
        result = strings_arr(env, &s);
        break;
      }
      case A_COMMIT: result = op_results(env, c->txn); break;
      default: break;
      }
    } else if (c->error == OFFKV_ETXN && c->txn) {
      failed_index = (jlong)c->txn->failed_index;
      failed_code = (jint)c->txn->failed_code;
    }
    if (!(*env)->ExceptionCheck(env)) {
      took = (*env)->CallBooleanMethod(env, a->call, m_sink_complete, (jint)c->error, msg,
                                       (jlong)c->version, result, failed_index, failed_code,
                                       jptr(c->watch), jptr(a->wctx));
      if ((*env)->ExceptionCheck(env)) took = JNI_FALSE;
    }
    (*env)->PopLocalFrame(env, NULL);
  }
  if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env);
  if (!took) {
    if (c->watch) offkv_watch_free(c->watch); /* after it returns, no more watch events */
    ctx_release(env, a->wctx);
  }
  actx_free(env, a);
}

/* Starts one asynchronous call. op: A_*; num: flags (create) or expected version
 * (cas, erase); txn: commit's transaction; sink: the watch listener or NULL. Throws
 * the error the C call returned at once (then no completion comes). */
FN(void, startAsync)(ARGS, jint op, jlong client, jbyteArray key, jbyteArray value,
                     jlong num, jlong txn, jobject call, jobject sink) {
  (void)cls;
  bytes_in k, v;
  if (!bin(env, key, &k)) return;
  if (!bin(env, value, &v)) {
    bout(env, &k);
    return;
  }
  int rc = OFFKV_OK;
  actx *a = calloc(1, sizeof *a);
  if (a) a->call = (*env)->NewGlobalRef(env, call);
  if (!a || !a->call) {
    free(a);
    a = NULL;
    rc = OFFKV_ENOMEM;
  } else {
    atomic_fetch_add(&live_refs, 1);
    a->op = op;
    a->wctx = ctx_new(env, sink, 0);
    if (sink && !a->wctx) rc = OFFKV_ENOMEM;
  }
  if (rc == OFFKV_OK) {
    offkv_client *cl = ptr(client);
    offkv_event_cb wcb = a->wctx ? on_event : NULL;
    switch (op) {
    case A_CREATE: rc = offkv_create_async(cl, CSTR(k), DATA(v), LEN(v), (int)num, on_complete, a); break;
    case A_SET: rc = offkv_set_async(cl, CSTR(k), DATA(v), LEN(v), on_complete, a); break;
    case A_CAS: rc = offkv_cas_async(cl, CSTR(k), DATA(v), LEN(v), num, on_complete, a); break;
    case A_GET: rc = offkv_get_async(cl, CSTR(k), on_complete, a); break;
    case A_EXISTS: rc = offkv_exists_async(cl, CSTR(k), on_complete, a); break;
    case A_CHILDREN: rc = offkv_children_async(cl, CSTR(k), on_complete, a); break;
    case A_ERASE: rc = offkv_erase_async(cl, CSTR(k), num, on_complete, a); break;
    case A_COMMIT: rc = offkv_commit_async(cl, ptr(txn), on_complete, a); break;
    case A_GET_WATCH: rc = offkv_get_watch_async(cl, CSTR(k), wcb, a->wctx, 1, on_complete, a); break;
    case A_EXISTS_WATCH: rc = offkv_exists_watch_async(cl, CSTR(k), wcb, a->wctx, 1, on_complete, a); break;
    case A_CHILDREN_WATCH: rc = offkv_children_watch_async(cl, CSTR(k), wcb, a->wctx, 1, on_complete, a); break;
    default: rc = OFFKV_EINVAL; break;
    }
    /* On OFFKV_OK `a` belongs to the completion now (it may have run already). */
  }
  bout(env, &v);
  bout(env, &k);
  if (rc != OFFKV_OK) {
    jbyteArray msg = new_cstr(env, rc == OFFKV_ENOMEM && !a ? "" : offkv_last_error());
    if (a) {
      ctx_release(env, a->wctx);
      actx_free(env, a);
    }
    if (!msg) return;
    jobject ex = (*env)->CallStaticObjectMethod(env, c_native, m_error, (jint)rc, key, msg);
    if (ex && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable)ex);
  }
}

/* ---- logs, counters, test kit ---- */

FN(void, setLogHandler)(ARGS, jobject handler, jint max_level) {
  (void)cls;
  jobject ref = NULL;
  if (handler) {
    ref = (*env)->NewGlobalRef(env, handler);
    if (!ref) return; /* OutOfMemoryError pending */
    atomic_fetch_add(&live_refs, 1);
  }
  pthread_mutex_lock(&log_mutex);
  /* Returns once no call of the previous callback runs. */
  int rc = offkv_set_log_callback(ref ? on_log : NULL, ref, max_level);
  jobject old = NULL;
  if (rc == OFFKV_OK) {
    old = log_handler;
    log_handler = ref;
  } else {
    old = ref; /* not installed */
  }
  pthread_mutex_unlock(&log_mutex);
  if (old) {
    (*env)->DeleteGlobalRef(env, old);
    atomic_fetch_sub(&live_refs, 1);
  }
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

FN(jobject, stats)(ARGS, jlong client) {
  (void)cls;
  offkv_stats st = OFFKV_STATS_INIT;
  int rc = offkv_get_stats(ptr(client), &st);
  if (rc != OFFKV_OK) {
    throw_rc(env, rc, NULL);
    return NULL;
  }
  jobject out = NULL;
  jobjectArray names = (*env)->NewObjectArray(env, (jsize)st.count, c_bytes, NULL);
  jlongArray values = names ? (*env)->NewLongArray(env, (jsize)st.count) : NULL;
  for (size_t i = 0; values && i < st.count; i++) {
    jbyteArray n = new_cstr(env, st.items[i]->name);
    if (!n) break;
    (*env)->SetObjectArrayElement(env, names, (jsize)i, n);
    (*env)->DeleteLocalRef(env, n);
    jlong v = (jlong)st.items[i]->value;
    (*env)->SetLongArrayRegion(env, values, (jsize)i, 1, &v);
  }
  if (values && !(*env)->ExceptionCheck(env))
    out = (*env)->CallStaticObjectMethod(env, c_native, m_stats, names, values);
  offkv_stats_free(&st);
  return out;
}

FN(void, testkitEndWatches)(ARGS, jlong client, jint error) {
  (void)cls;
  int rc = offkv_testkit_end_watches(ptr(client), error);
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}

/* which: 0 suspend, 1 resume, 2 expire. */
FN(void, testkitSession)(ARGS, jlong client, jint which) {
  (void)cls;
  int rc = which == 0   ? offkv_testkit_suspend(ptr(client))
           : which == 1 ? offkv_testkit_resume(ptr(client))
                        : offkv_testkit_expire(ptr(client));
  if (rc != OFFKV_OK) throw_rc(env, rc, NULL);
}
