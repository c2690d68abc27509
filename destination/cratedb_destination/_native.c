/*
 * Native helpers of the destination's hot loops (see native.py, the only caller, which documents the
 * contract). Four functions:
 *
 *   rows(columns, length) -> bytes
 *       The JSON text of `length` rows, `[[c0,c1,...],[...],...]`, from Arrow columns given as
 *       (kind, offset, validity, offsets, data) tuples. Text is written as a JSON string escaped the way
 *       orjson escapes it (only '"', '\\' and the controls below 0x20; the five with a short form use it,
 *       the others \u00XX with lower-case hex), so the body is byte-identical to
 *       orjson.dumps(list of row lists). Raises UnicodeError for text that is not valid UTF-8.
 *
 *   json_texts(offset, length, validity, offsets, data) -> bool
 *       Whether every non-null cell is one JSON text by RFC 8259 (whitespace, one value, whitespace)
 *       nested at most MAX_DEPTH deep. RFC 8259 JSON is a subset of what Python's json.loads accepts, so
 *       True is always right; False only means "not vouched for" (the caller decides with Python).
 *
 *   decimal_texts(offset, length, validity, offsets, data, whole, scale) -> bool
 *       Whether every non-null cell is a plain decimal: an optional '-', then "0" or 1 to `whole` digits
 *       without a leading zero (only "0" when `whole` < 1), then optionally '.' and 1 to `scale` digits
 *       (none when `scale` is 0): the pattern of fast_columns.decimals, exactly.
 *
 *   csv_quotes(data, start) -> int
 *       The quote check of batch/quoting.py on data[start:]: every '"' opens a field (at the start or
 *       after ',', CR or LF), doubles a quote inside one, or closes one before ',', CR or LF. Returns the
 *       offset of a quoted field still open at the end (or closing exactly there), len(data) when none
 *       is, -1 for a quote inside an unquoted field, -2 for text after a closing quote.
 *
 * Every read is bounds-checked against the buffer sizes Python hands in; nothing here keeps a pointer
 * past the call. The GIL is released while bytes are scanned and written.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { KIND_TEXT = 0, KIND_INT64 = 1, KIND_BOOL = 2 };
#define MAX_DEPTH 64

typedef struct {
    int kind;
    Py_ssize_t offset;
    Py_buffer validity, offsets, data;
    int has_validity, has_offsets, has_data;
} Column;

static int bit(const uint8_t *bits, Py_ssize_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

static int is_valid(const Column *c, Py_ssize_t i) {
    return !c->has_validity || bit((const uint8_t *)c->validity.buf, i);
}

/* ---- text: escaping as orjson does, with a UTF-8 check ------------------------------------------ */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether 8 bytes are all ASCII and none needs escaping (no control, '"' or '\\'). */
static int plain_word(const unsigned char *p) {
    uint64_t x, low, quote, backslash;
    memcpy(&x, p, 8);
    low = (x - ONES * 0x20) & ~x;
    quote = x ^ (ONES * 0x22);
    quote = (quote - ONES) & ~quote;
    backslash = x ^ (ONES * 0x5C);
    backslash = (backslash - ONES) & ~backslash;
    return ((low | quote | backslash | x) & HIGHS) == 0;
}

/* Length of the UTF-8 sequence starting at s[0] (a byte >= 0x80), or 0 if it is not valid UTF-8
   (overlong forms, surrogates and code points past U+10FFFF are invalid, as in Python's decoder). */
static Py_ssize_t utf8_sequence(const unsigned char *s, Py_ssize_t left) {
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return left >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

/* Writes the escaped text (without quotes); NULL if it is not valid UTF-8. At most 6 bytes per byte.
   Eight plain bytes are copied at once; otherwise the next eight are handled one by one (text with a
   quote every few bytes, like JSON, would otherwise test a word at every byte). */
static char *write_escaped(char *out, const unsigned char *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n && plain_word(s + i)) {
            memcpy(out, s + i, 8);
            out += 8;
            i += 8;
            continue;
        }
        Py_ssize_t stop = i + 8 < n ? i + 8 : n;
        while (i < stop) {
            unsigned char c = s[i];
            if (c >= 0x80) {
                Py_ssize_t len = utf8_sequence(s + i, n - i);
                if (len == 0) return NULL;
                memcpy(out, s + i, (size_t)len);
                out += len;
                i += len;
                continue;
            }
            i += 1;
            if (c >= 0x20 && c != '"' && c != '\\') {
                *out++ = (char)c;
                continue;
            }
            *out++ = '\\';
            switch (c) {
                case '"': *out++ = '"'; break;
                case '\\': *out++ = '\\'; break;
                case '\b': *out++ = 'b'; break;
                case '\t': *out++ = 't'; break;
                case '\n': *out++ = 'n'; break;
                case '\f': *out++ = 'f'; break;
                case '\r': *out++ = 'r'; break;
                default:
                    *out++ = 'u';
                    *out++ = '0';
                    *out++ = '0';
                    *out++ = hex[c >> 4];
                    *out++ = hex[c & 15];
            }
        }
    }
    return out;
}

/* ---- numbers and booleans ---------------------------------------------------------------------- */

static char *write_int64(char *out, int64_t v) {
    char digits[20];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) *out++ = '-';
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n) *out++ = digits[--n];
    return out;
}

/* ---- argument handling ------------------------------------------------------------------------- */

static void release(Column *columns, Py_ssize_t count) {
    for (Py_ssize_t i = 0; i < count; i++) {
        if (columns[i].has_validity) PyBuffer_Release(&columns[i].validity);
        if (columns[i].has_offsets) PyBuffer_Release(&columns[i].offsets);
        if (columns[i].has_data) PyBuffer_Release(&columns[i].data);
    }
}

static int get_buffer(PyObject *obj, Py_buffer *view, int *flag) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) return -1;
    *flag = 1;
    return 0;
}

/* Take (kind, offset, validity, offsets, data) and check every size the loops rely on. */
static int take_column(PyObject *spec, Py_ssize_t length, Column *c) {
    int kind;
    Py_ssize_t offset;
    PyObject *validity, *offsets, *data;
    if (!PyTuple_Check(spec) || !PyArg_ParseTuple(spec, "inOOO", &kind, &offset, &validity, &offsets, &data))
        return -1;
    c->kind = kind;
    c->offset = offset;
    if (offset < 0 || (kind != KIND_TEXT && kind != KIND_INT64 && kind != KIND_BOOL)) {
        PyErr_SetString(PyExc_ValueError, "bad column kind or offset");
        return -1;
    }
    Py_ssize_t end = offset + length;
    if (validity != Py_None) {
        if (get_buffer(validity, &c->validity, &c->has_validity) < 0) return -1;
        if (c->validity.len < (end + 7) / 8) goto short_buffer;
    }
    if (get_buffer(data, &c->data, &c->has_data) < 0) return -1;
    if (kind == KIND_TEXT) {
        if (get_buffer(offsets, &c->offsets, &c->has_offsets) < 0) return -1;
        if (c->offsets.len / 4 < end + 1) goto short_buffer;
        const int32_t *o = (const int32_t *)c->offsets.buf;
        /* Offsets must rise and stay inside the data: checked once here, relied on by every loop. */
        for (Py_ssize_t i = offset; i < end; i++) {
            if (o[i] < 0 || o[i + 1] < o[i] || o[i + 1] > c->data.len) goto short_buffer;
        }
    } else if (kind == KIND_INT64) {
        if (c->data.len / 8 < end) goto short_buffer;
    } else if (c->data.len < (end + 7) / 8) {
        goto short_buffer;
    }
    return 0;
short_buffer:
    PyErr_SetString(PyExc_ValueError, "an Arrow buffer is shorter than its column");
    return -1;
}

/* One text column from separate arguments (see take_column); on failure nothing is left to release. */
static int take_text(Py_ssize_t offset, Py_ssize_t length, PyObject *validity, PyObject *offsets,
                     PyObject *data, Column *column) {
    PyObject *spec = Py_BuildValue("(inOOO)", KIND_TEXT, offset, validity, offsets, data);
    int taken;
    memset(column, 0, sizeof(*column));
    if (spec == NULL) return -1;
    taken = take_column(spec, length, column);
    Py_DECREF(spec);
    if (taken < 0) release(column, 1);
    return taken;
}

/* ---- rows() ------------------------------------------------------------------------------------ */

/* The body is written in one pass into a buffer that grows as needed (room for the worst case of each
   cell is made before it is written), then copied into the bytes object. */
typedef struct {
    char *buf;
    Py_ssize_t used, capacity;
} Output;

static int make_room(Output *out, Py_ssize_t more) {
    if (out->capacity - out->used >= more) return 0;
    if (more > PY_SSIZE_T_MAX / 2 - out->used) return -1;
    Py_ssize_t capacity = out->capacity * 2 > out->used + more ? out->capacity * 2 : out->used + more;
    char *grown = PyMem_RawRealloc(out->buf, (size_t)capacity);
    if (grown == NULL) return -1;
    out->buf = grown;
    out->capacity = capacity;
    return 0;
}

enum { WRITTEN = 0, NO_MEMORY = -1, NOT_UTF8 = -2 };

#define CELL_ROOM 24 /* brackets, comma, and any int64 or literal */

static int write_body(Output *out, const Column *columns, Py_ssize_t count, Py_ssize_t length) {
    for (Py_ssize_t r = 0; r < length; r++) {
        if (make_room(out, 3)) return NO_MEMORY;
        out->buf[out->used++] = r ? ',' : '[';
        out->buf[out->used++] = '[';
        for (Py_ssize_t k = 0; k < count; k++) {
            const Column *c = &columns[k];
            Py_ssize_t i = c->offset + r, text = 0;
            const int32_t *o = (const int32_t *)c->offsets.buf;
            if (c->kind == KIND_TEXT && is_valid(c, i)) {
                text = o[i + 1] - o[i];
                if (text > (PY_SSIZE_T_MAX - CELL_ROOM) / 6) return NO_MEMORY;
            }
            if (make_room(out, CELL_ROOM + 6 * text)) return NO_MEMORY;
            char *at = out->buf + out->used;
            if (k) *at++ = ',';
            if (!is_valid(c, i)) {
                memcpy(at, "null", 4);
                at += 4;
            } else if (c->kind == KIND_TEXT) {
                *at++ = '"';
                at = write_escaped(at, (const unsigned char *)c->data.buf + o[i], text);
                if (at == NULL) return NOT_UTF8;
                *at++ = '"';
            } else if (c->kind == KIND_INT64) {
                at = write_int64(at, ((const int64_t *)c->data.buf)[i]);
            } else if (bit((const uint8_t *)c->data.buf, i)) {
                memcpy(at, "true", 4);
                at += 4;
            } else {
                memcpy(at, "false", 5);
                at += 5;
            }
            out->used = at - out->buf;
        }
        if (make_room(out, 1)) return NO_MEMORY;
        out->buf[out->used++] = ']';
    }
    if (make_room(out, 2)) return NO_MEMORY;
    if (length == 0) out->buf[out->used++] = '[';
    out->buf[out->used++] = ']';
    return WRITTEN;
}

/* A first guess of the body's size: every text byte, a little for escapes, and 8 bytes per other cell. */
static Py_ssize_t estimate(const Column *columns, Py_ssize_t count, Py_ssize_t length) {
    Py_ssize_t size = 2 + length * (2 + 8 * count);
    for (Py_ssize_t k = 0; k < count; k++) {
        const Column *c = &columns[k];
        if (c->kind == KIND_TEXT && length) {
            const int32_t *o = (const int32_t *)c->offsets.buf;
            Py_ssize_t bytes = o[c->offset + length] - o[c->offset];
            size += bytes + bytes / 8;
        }
    }
    return size;
}

static PyObject *rows(PyObject *self, PyObject *args) {
    PyObject *specs, *result = NULL;
    Py_ssize_t length, count, taken = 0;
    Column *columns;
    Output out = {NULL, 0, 0};
    int written;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &specs, &length)) return NULL;
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "negative length");
        return NULL;
    }
    count = PyList_GET_SIZE(specs);
    columns = PyMem_Calloc(count ? (size_t)count : 1, sizeof(Column));
    if (columns == NULL) return PyErr_NoMemory();
    for (; taken < count; taken++) {
        if (take_column(PyList_GET_ITEM(specs, taken), length, &columns[taken]) < 0) {
            taken += 1; /* release what this column got */
            goto done;
        }
    }
    out.capacity = estimate(columns, count, length);
    out.buf = PyMem_RawMalloc((size_t)out.capacity);
    if (out.buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    written = write_body(&out, columns, count, length);
    Py_END_ALLOW_THREADS
    if (written == NOT_UTF8) {
        PyErr_SetString(PyExc_UnicodeError, "text that is not valid UTF-8");
    } else if (written == NO_MEMORY) {
        PyErr_NoMemory();
    } else {
        result = PyBytes_FromStringAndSize(out.buf, out.used);
    }
done:
    PyMem_RawFree(out.buf);
    release(columns, taken);
    PyMem_Free(columns);
    return result;
}

/* ---- json_texts() ------------------------------------------------------------------------------ */

typedef const unsigned char *cursor;

static cursor skip_ws(cursor p, cursor end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int hex_digit(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* p at '"'; returns the position after the closing quote, or NULL. */
static cursor json_string(cursor p, cursor end) {
    p++;
    while (p < end) {
        unsigned char c = *p++;
        if (c == '"') return p;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (p >= end) return NULL;
            c = *p++;
            if (c == 'u') {
                if (end - p < 4 || !hex_digit(p[0]) || !hex_digit(p[1]) || !hex_digit(p[2]) || !hex_digit(p[3]))
                    return NULL;
                p += 4;
            } else if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
                       c != 't') {
                return NULL;
            }
        }
    }
    return NULL;
}

static cursor digits(cursor p, cursor end) {
    cursor start = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    return p > start ? p : NULL;
}

static cursor json_number(cursor p, cursor end) {
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        p = digits(p, end);
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p = digits(p + 1, end);
        if (p == NULL) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        p = digits(p, end);
    }
    return p;
}

static cursor json_literal(cursor p, cursor end, const char *word, Py_ssize_t n) {
    return end - p >= n && memcmp(p, word, (size_t)n) == 0 ? p + n : NULL;
}

static cursor json_value(cursor p, cursor end, int depth);

/* p at '[' or '{'. */
static cursor json_container(cursor p, cursor end, int depth) {
    unsigned char close = *p == '[' ? ']' : '}';
    int object = close == '}';
    if (depth >= MAX_DEPTH) return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
        if (object) {
            if (p >= end || *p != '"') return NULL;
            p = json_string(p, end);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
        }
        p = json_value(p, end, depth + 1);
        if (p == NULL) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == close) return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static cursor json_value(cursor p, cursor end, int depth) {
    if (p >= end) return NULL;
    switch (*p) {
        case '{':
        case '[': return json_container(p, end, depth);
        case '"': return json_string(p, end);
        case 't': return json_literal(p, end, "true", 4);
        case 'f': return json_literal(p, end, "false", 5);
        case 'n': return json_literal(p, end, "null", 4);
        default: return json_number(p, end);
    }
}

static int json_text(cursor p, cursor end) {
    p = json_value(skip_ws(p, end), end, 0);
    return p != NULL && skip_ws(p, end) == end;
}

/* Whether `check` holds for every non-null cell of a text column (the arguments of take_column). */
typedef int (*CellCheck)(cursor p, cursor end, const Py_ssize_t *params);

static PyObject *every_cell(PyObject *args, const char *format, CellCheck check) {
    Py_ssize_t offset, length, params[2] = {0, 0};
    PyObject *validity, *offsets, *data;
    Column column;
    int all = 1;
    const int32_t *o;
    const unsigned char *bytes;
    if (!PyArg_ParseTuple(args, format, &offset, &length, &validity, &offsets, &data, &params[0], &params[1]))
        return NULL;
    if (length < 0) {
        PyErr_SetString(PyExc_ValueError, "negative length");
        return NULL;
    }
    if (take_text(offset, length, validity, offsets, data, &column) < 0) return NULL;
    o = (const int32_t *)column.offsets.buf;
    bytes = (const unsigned char *)column.data.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = offset; all && i < offset + length; i++) {
        if (is_valid(&column, i)) all = check(bytes + o[i], bytes + o[i + 1], params);
    }
    Py_END_ALLOW_THREADS
    release(&column, 1);
    return PyBool_FromLong(all);
}

static int json_cell(cursor p, cursor end, const Py_ssize_t *params) {
    (void)params;
    return json_text(p, end);
}

static PyObject *json_texts(PyObject *self, PyObject *args) {
    (void)self;
    return every_cell(args, "nnOOO", json_cell);
}

/* ---- decimal_texts() --------------------------------------------------------------------------- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int decimal_text(cursor p, cursor end, Py_ssize_t whole, Py_ssize_t scale) {
    Py_ssize_t count = 0;
    if (p < end && *p == '-') p++;
    if (p >= end || !is_digit(*p)) return 0;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && is_digit(*p)) {
            p++;
            count++;
        }
        if (count > whole) return 0;
    }
    if (p == end) return 1;
    if (*p != '.' || scale < 1) return 0;
    p++;
    count = 0;
    while (p < end && is_digit(*p)) {
        p++;
        count++;
    }
    return p == end && count >= 1 && count <= scale;
}

static int decimal_cell(cursor p, cursor end, const Py_ssize_t *params) {
    return decimal_text(p, end, params[0], params[1]);
}

static PyObject *decimal_texts(PyObject *self, PyObject *args) {
    (void)self;
    return every_cell(args, "nnOOOnn", decimal_cell);
}

/* ---- csv_quotes() ----------------------------------------------------------------------------- */

static int separator(char c) { return c == ',' || c == '\r' || c == '\n'; }

static Py_ssize_t scan_quotes(const char *d, Py_ssize_t n, Py_ssize_t p) {
    for (;;) {
        const char *found = p < n ? memchr(d + p, '"', (size_t)(n - p)) : NULL;
        if (found == NULL) return n;
        Py_ssize_t open = found - d, r = open + 1;
        if (open > 0 && !separator(d[open - 1])) return -1;
        for (;;) {
            found = r < n ? memchr(d + r, '"', (size_t)(n - r)) : NULL;
            if (found == NULL) return open; /* still open at the end */
            r = found - d;
            if (r + 1 == n) return open; /* closes exactly at the end */
            if (d[r + 1] == '"') {
                r += 2; /* a doubled quote inside the field */
                continue;
            }
            if (!separator(d[r + 1])) return -2;
            break;
        }
        p = r + 1;
    }
}

static PyObject *csv_quotes(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t start, result;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*n", &view, &start)) return NULL;
    if (start < 0 || start > view.len) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "start outside the data");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    result = scan_quotes((const char *)view.buf, view.len, start);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(result);
}

static PyMethodDef methods[] = {
    {"rows", rows, METH_VARARGS, "JSON text of row lists from Arrow columns (see native.py)."},
    {"json_texts", json_texts, METH_VARARGS, "Whether every non-null cell is RFC 8259 JSON text."},
    {"decimal_texts", decimal_texts, METH_VARARGS, "Whether every non-null cell is a plain decimal."},
    {"csv_quotes", csv_quotes, METH_VARARGS, "The quote check of batch/quoting.py (see native.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
