/* The front door's span, in C (overcast.tracing; docs/tracing.md, "Cost").
 *
 * Every AWS API request gets a span, so making it is on the hot path of every request. In Python
 * its ~150 bytecodes, run where the request's other work has left the processor's caches cold,
 * cost 7% of a DynamoDB GetItem served through the server; the issue allows 5%. Here are the parts
 * of that path that are the same for every request:
 *
 *   SpanBase       the fields every span has, as C members: overcast.tracing.Span subclasses it
 *                  (its other fields, which most spans never set, stay Python attributes);
 *   RecorderBase   the fields the front door reads on every request: overcast.tracing.Recorder
 *                  subclasses it;
 *   open_api       a request without a trace header, served in a task of its own (server.py's):
 *   close_api      the usual case, done here; every other case is handed to the Python functions
 *                  of the same name, which do everything (and are used alone when this module is
 *                  not built: `pip install` builds it where a C compiler is present).
 *
 * What these do is what overcast.tracing.open_api and close_api do for the same case; the tests of
 * tracing run against both (tests/test_tracing.py, OVERCAST_TRACE_PURE=1).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <time.h>

/* -- SpanBase ------------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *service, *account, *region, *operation, *kind, *status, *error, *hint;
    PyObject *request, *response, *http_status;
    Py_ssize_t request_size, response_size; /* a payload's whole size, set only when it was cut */
    double start, end;                      /* end: NaN until the span ends (read as None) */
    char evicted;                           /* its trace left the ring (on the trace's holder) */
} SpanBase;

static PyObject *str_empty, *str_api, *str_ok, *str_error, *str_append, *str_evict, *str_finish, *str_sampled;

static void
span_fields_clear(SpanBase *self)
{
    Py_CLEAR(self->service);
    Py_CLEAR(self->account);
    Py_CLEAR(self->region);
    Py_CLEAR(self->operation);
    Py_CLEAR(self->kind);
    Py_CLEAR(self->status);
    Py_CLEAR(self->error);
    Py_CLEAR(self->hint);
    Py_CLEAR(self->request);
    Py_CLEAR(self->response);
    Py_CLEAR(self->http_status);
}

/* What a new span has before it is filled in: the front door's kind and operation, status "ok",
 * not ended. (Python's Span.__init__ sets the kind and operation of the others.) */
static void
span_defaults(SpanBase *self)
{
    /* every object field holds an object (None when unset), so that the members can be T_OBJECT_EX,
     * whose reads and writes Python's interpreter specializes */
    self->service = Py_NewRef(Py_None);
    self->account = Py_NewRef(Py_None);
    self->region = Py_NewRef(Py_None);
    self->kind = Py_NewRef(str_api);
    self->operation = Py_NewRef(str_empty);
    self->status = Py_NewRef(str_ok);
    self->error = Py_NewRef(Py_None);
    self->hint = Py_NewRef(Py_None);
    self->request = Py_NewRef(Py_None);
    self->response = Py_NewRef(Py_None);
    self->http_status = Py_NewRef(Py_None);
    self->end = NAN;
}

static PyObject *
span_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    SpanBase *self = (SpanBase *)type->tp_alloc(type, 0);
    if (self != NULL)
        span_defaults(self);
    return (PyObject *)self;
}

static void
span_dealloc(SpanBase *self)
{
    /* (a subclass's dealloc has untracked it and cleared its own fields; the fields here hold
     * strings, bytes and numbers only, so they are in no reference cycle) */
    span_fields_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
span_get_end(SpanBase *self, void *closure)
{
    if (isnan(self->end))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(self->end);
}

static int
span_set_end(SpanBase *self, PyObject *value, void *closure)
{
    if (value == NULL || value == Py_None) {
        self->end = NAN;
        return 0;
    }
    double end = PyFloat_AsDouble(value);
    if (end == -1.0 && PyErr_Occurred())
        return -1;
    self->end = end;
    return 0;
}

#define OBJECT_MEMBER(name, field) {name, T_OBJECT_EX, offsetof(SpanBase, field), 0, NULL}

static PyMemberDef span_members[] = {
    OBJECT_MEMBER("service", service),
    OBJECT_MEMBER("account", account),
    OBJECT_MEMBER("region", region),
    OBJECT_MEMBER("operation", operation),
    OBJECT_MEMBER("kind", kind),
    OBJECT_MEMBER("status", status),
    OBJECT_MEMBER("error", error),
    OBJECT_MEMBER("_hint", hint),
    OBJECT_MEMBER("_request", request),
    OBJECT_MEMBER("_response", response),
    OBJECT_MEMBER("http_status", http_status),
    {"_request_size", T_PYSSIZET, offsetof(SpanBase, request_size), 0, NULL},
    {"_response_size", T_PYSSIZET, offsetof(SpanBase, response_size), 0, NULL},
    {"start", T_DOUBLE, offsetof(SpanBase, start), 0, NULL},
    {"evicted", T_BOOL, offsetof(SpanBase, evicted), 0, NULL},
    {NULL},
};

static PyGetSetDef span_getset[] = {
    {"end", (getter)span_get_end, (setter)span_set_end, "when the span ended (None: not yet)", NULL},
    {NULL},
};

static PyTypeObject SpanBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "overcast.tracing._front.SpanBase",
    .tp_doc = "The fields every span has (overcast.tracing.Span subclasses it).",
    .tp_basicsize = sizeof(SpanBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = span_new,
    .tp_dealloc = (destructor)span_dealloc,
    .tp_members = span_members,
    .tp_getset = span_getset,
};

/* -- RecorderBase -------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    char enabled;
    Py_ssize_t payload_bytes; /* payloads are kept up to this many bytes (or characters) */
    Py_ssize_t room;          /* traces the ring holds before the oldest leave (Recorder._room) */
    PyObject *ring;           /* the deque of the traces' holders */
    PyObject *subscribers;    /* the list of callbacks of finished spans */
} RecorderBase;

static int
recorder_traverse(RecorderBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ring);
    Py_VISIT(self->subscribers);
    return 0;
}

static int
recorder_clear(RecorderBase *self)
{
    Py_CLEAR(self->ring);
    Py_CLEAR(self->subscribers);
    return 0;
}

static void
recorder_dealloc(RecorderBase *self)
{
    PyObject_GC_UnTrack(self);
    recorder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef recorder_members[] = {
    {"enabled", T_BOOL, offsetof(RecorderBase, enabled), 0, NULL},
    {"payload_bytes", T_PYSSIZET, offsetof(RecorderBase, payload_bytes), 0, NULL},
    {"_room", T_PYSSIZET, offsetof(RecorderBase, room), 0, NULL},
    {"_ring", T_OBJECT, offsetof(RecorderBase, ring), 0, NULL},
    {"_subscribers", T_OBJECT, offsetof(RecorderBase, subscribers), 0, NULL},
    {NULL},
};

static PyTypeObject RecorderBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "overcast.tracing._front.RecorderBase",
    .tp_doc = "The recorder's fields the front door reads (overcast.tracing.Recorder subclasses it).",
    .tp_basicsize = sizeof(RecorderBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)recorder_dealloc,
    .tp_traverse = (traverseproc)recorder_traverse,
    .tp_clear = (inquiry)recorder_clear,
    .tp_members = recorder_members,
};

/* -- the front door ------------------------------------------------------------------------------ */

/* set by install(): the recorder, the Span class, the current span's context variable, and the
 * Python open_api and close_api, which take every case but the usual one */
static RecorderBase *recorder;
static PyTypeObject *span_type;
static PyObject *current_span, *python_open, *python_close;

static PyObject *
install(PyObject *module, PyObject *args)
{
    PyObject *the_recorder, *the_span_type, *the_var, *the_open, *the_close;
    if (!PyArg_ParseTuple(args, "O!O!OOO:install", &RecorderBaseType, &the_recorder, &PyType_Type,
                          &the_span_type, &the_var, &the_open, &the_close))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)the_span_type, &SpanBaseType)) {
        PyErr_SetString(PyExc_TypeError, "install: the span class must subclass SpanBase");
        return NULL;
    }
    Py_XSETREF(recorder, (RecorderBase *)Py_NewRef(the_recorder));
    Py_XSETREF(span_type, (PyTypeObject *)Py_NewRef(the_span_type));
    Py_XSETREF(current_span, Py_NewRef(the_var));
    Py_XSETREF(python_open, Py_NewRef(the_open));
    Py_XSETREF(python_close, Py_NewRef(the_close));
    Py_RETURN_NONE;
}

/* track(span): the cyclic collector tracks the span again (it holds other spans now) */
static PyObject *
track(PyObject *module, PyObject *span)
{
    if (PyObject_IS_GC(span) && !PyObject_GC_IsTracked(span))
        PyObject_GC_Track(span);
    Py_RETURN_NONE;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* what time.time() reads */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* `payload`, cut to the recorder's payload_bytes (its whole size put in *size when cut): a new
 * reference, NULL on an error */
static PyObject *
kept_payload(PyObject *payload, Py_ssize_t *size)
{
    Py_ssize_t length = PyObject_Length(payload);
    if (length < 0)
        return NULL;
    if (length > recorder->payload_bytes) {
        *size = length;
        return PySequence_GetSlice(payload, 0, recorder->payload_bytes);
    }
    return Py_NewRef(payload);
}

/* A payload given as None, b"" or "" is not kept. */
static int
has_payload(PyObject *payload)
{
    if (payload == Py_None)
        return 0;
    if (PyBytes_CheckExact(payload))
        return PyBytes_GET_SIZE(payload) > 0;
    return PyObject_IsTrue(payload);
}

/* open_api(header, service, account, region, body, own_task=False) -> Span | None */
static PyObject *
open_api(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (recorder == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "overcast.tracing._front: install() was not called");
        return NULL;
    }
    if (kwnames != NULL || nargs < 5 || nargs > 6) /* (arguments by name: Python's function takes them) */
        return PyObject_Vectorcall(python_open, args, nargs, kwnames);
    if (!recorder->enabled)
        Py_RETURN_NONE;
    PyObject *header = args[0];
    int own_task = nargs == 6 && args[5] == Py_True;
    if (!own_task || (header != Py_None && PyObject_IsTrue(header)))
        return PyObject_Vectorcall(python_open, args, nargs, NULL);

    /* the usual case: a new trace, its only span made current, kept in the ring */
    SpanBase *span = (SpanBase *)span_type->tp_alloc(span_type, 0);
    if (span == NULL)
        return NULL;
    /* Not tracked by the cyclic collector while it holds no other span: a span alone is in no
     * reference cycle (its fields hold strings, bytes and numbers), and each of the ring's 1,000
     * would otherwise be walked by every collection it lives through; untracked, tracing costs
     * SendMessage and GetItem 1.5 points less through the server (docs/tracing.md). Recorder._begin
     * has it tracked again (track()) when it comes to hold the trace's other spans, which refer
     * back to it. */
    PyObject_GC_UnTrack(span);
    span_defaults(span);
    Py_SETREF(span->service, Py_NewRef(args[1]));
    Py_SETREF(span->account, Py_NewRef(args[2]));
    Py_SETREF(span->region, Py_NewRef(args[3]));
    span->start = now();
    PyObject *body = args[4];
    int kept = has_payload(body);
    if (kept < 0)
        goto failed;
    if (kept) {
        PyObject *payload = kept_payload(body, &span->request_size);
        if (payload == NULL)
            goto failed;
        Py_SETREF(span->request, payload);
    }
    /* own_task: the token is not kept, the request's task ends with the request */
    PyObject *token = PyContextVar_Set(current_span, (PyObject *)span);
    if (token == NULL)
        goto failed;
    Py_DECREF(token);
    PyObject *ring = recorder->ring;
    PyObject *done = PyObject_CallMethodOneArg(ring, str_append, (PyObject *)span);
    if (done == NULL)
        goto failed;
    Py_DECREF(done);
    Py_ssize_t length = PyObject_Length(ring);
    if (length < 0)
        goto failed;
    if (length > recorder->room) { /* full: the oldest traces leave (a few at once) */
        done = PyObject_CallMethodNoArgs((PyObject *)recorder, str_evict);
        if (done == NULL)
            goto failed;
        Py_DECREF(done);
    }
    return (PyObject *)span;
failed:
    Py_DECREF(span);
    return NULL;
}

/* close_api(span, status, body, own_task=False) -> None */
static PyObject *
close_api(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (recorder == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "overcast.tracing._front: install() was not called");
        return NULL;
    }
    if (kwnames != NULL || nargs != 4 || args[3] != Py_True || !PyObject_TypeCheck(args[0], &SpanBaseType))
        return PyObject_Vectorcall(python_close, args, nargs, kwnames);
    SpanBase *span = (SpanBase *)args[0];
    long status = PyLong_AsLong(args[1]);
    if (status == -1 && PyErr_Occurred())
        return NULL;
    if (status >= 400) {
        Py_SETREF(span->status, Py_NewRef(str_error));
        if (span->error == Py_None) {
            PyObject *error = PyUnicode_FromFormat("HTTP %ld", status);
            if (error == NULL)
                return NULL;
            Py_SETREF(span->error, error);
        }
    }
    PyObject *body = args[2];
    int kept = has_payload(body);
    if (kept < 0)
        return NULL;
    if (kept) {
        PyObject *payload = kept_payload(body, &span->response_size);
        if (payload == NULL)
            return NULL;
        Py_XSETREF(span->response, payload);
    }
    Py_XSETREF(span->http_status, Py_NewRef(args[1]));
    span->end = now();
    if (PyList_Check(recorder->subscribers) && PyList_GET_SIZE(recorder->subscribers) > 0) {
        PyObject *sampled = PyObject_GetAttr((PyObject *)span, str_sampled);
        if (sampled == NULL)
            return NULL;
        int recorded = PyObject_IsTrue(sampled);
        Py_DECREF(sampled);
        if (recorded < 0)
            return NULL;
        if (recorded) {
            PyObject *done = PyObject_CallMethodOneArg((PyObject *)recorder, str_finish, (PyObject *)span);
            if (done == NULL)
                return NULL;
            Py_DECREF(done);
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"install", install, METH_VARARGS,
     "install(recorder, span_class, current_span_var, python_open_api, python_close_api)"},
    {"track", track, METH_O, "track(span): have the cyclic collector track a span again (it holds others)"},
    {"open_api", (PyCFunction)(void (*)(void))open_api, METH_FASTCALL | METH_KEYWORDS,
     "open_api(header, service, account, region, body, own_task=False): overcast.tracing.open_api"},
    {"close_api", (PyCFunction)(void (*)(void))close_api, METH_FASTCALL | METH_KEYWORDS,
     "close_api(span, status, body, own_task=False): overcast.tracing.close_api"},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "overcast.tracing._front", "The front door's span, in C.", -1, module_methods,
};

static int
intern(PyObject **where, const char *text)
{
    *where = PyUnicode_InternFromString(text);
    return *where == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__front(void)
{
    if (intern(&str_empty, "") || intern(&str_api, "api") || intern(&str_ok, "ok") || intern(&str_error, "error")
        || intern(&str_append, "append") || intern(&str_evict, "_evict") || intern(&str_finish, "_finish")
        || intern(&str_sampled, "sampled"))
        return NULL;
    if (PyType_Ready(&SpanBaseType) < 0 || PyType_Ready(&RecorderBaseType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "SpanBase", (PyObject *)&SpanBaseType) < 0
        || PyModule_AddObjectRef(module, "RecorderBase", (PyObject *)&RecorderBaseType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
