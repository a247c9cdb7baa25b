/*
 * lmpi.c - idl.mpi: the few MPI collectives data-parallel training needs
 * (rank, size, allreduce, bcast, gather, barrier), on matrices (gather also
 * on strings).
 *
 * In a process started by mpirun (or another launcher), MPI starts on the
 * first call that needs it (MPI_Init_thread, funneled: only the thread running
 * Lua calls MPI); without a launcher the process is a job of size 1, where the
 * collectives leave their matrices as they are, and MPI is not started. MPI
 * is finalized by an atexit handler, so
 * after lua_close and after os.exit alike; a process that found MPI already
 * initialized leaves finalization to whoever initialized it. The collectives
 * run on a duplicate of MPI_COMM_WORLD whose error handler returns codes, so a
 * failed call becomes a Lua error naming it. The idl executable calls
 * lidl_mpi_abort_if_parallel after reporting an uncaught error, so one failing
 * rank ends the job instead of leaving the others blocked in a collective.
 *
 * Built without MPI (IDL_HAVE_MPI undefined), every function but available()
 * raises one message saying how to get it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"

/* Called by the idl executable (engine/repl/idl.c) after it reported an uncaught error. */
void lidl_mpi_abort_if_parallel(int code);

#define NO_MPI_MESSAGE "idl.mpi: built without MPI (install libopenmpi-dev and rebuild)"

#ifdef IDL_HAVE_MPI
#include <limits.h>
#include <mpi.h>

static MPI_Comm comm = MPI_COMM_NULL; /* our duplicate of MPI_COMM_WORLD */
static int comm_rank, comm_size;
static bool solo; /* a job of size 1 that has not started MPI (see launched_by_mpi) */

/* True when a launcher (mpirun, mpiexec, srun with PMI/PMIx) started this
 * process. Without one the process is a job of size 1 and MPI is not started:
 * a singleton MPI_Init would cost half a second and leave PMIx variables in
 * the environment that make child processes (idl.parallel workers, a nested
 * mpirun) believe they belong to this job. */
static bool launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE"};
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++)
        if (getenv(vars[k]))
            return true;
    return false;
}

/* Raises "mpi.<fname>: <call> failed: <MPI's reason>" unless rc is MPI_SUCCESS. */
static void check_mpi(lua_State *L, int rc, const char *fname, const char *call)
{
    if (rc == MPI_SUCCESS)
        return;
    char reason[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, reason, &len) != MPI_SUCCESS)
        len = snprintf(reason, sizeof reason, "error code %d", rc);
    reason[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    lidl_error(L, fname, "%s failed: %s", call, reason);
}

static void finalize_at_exit(void)
{
    int finalized = 1;
    MPI_Finalized(&finalized);
    if (finalized)
        return;
    if (comm != MPI_COMM_NULL)
        MPI_Comm_free(&comm);
    MPI_Finalize();
}

/* Starts MPI on first use (or settles for a job of size 1 without a
 * launcher); afterwards only returns. */
static void ensure_started(lua_State *L, const char *fname)
{
    if (comm != MPI_COMM_NULL || solo)
        return;
    int initialized = 0, finalized = 0, provided = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized)
        lidl_error(L, fname, "MPI was already finalized by someone else");
    if (!initialized && !launched_by_mpi()) {
        solo = true;
        comm_rank = 0;
        comm_size = 1;
        return;
    }
    if (!initialized) {
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            lidl_error(L, fname, "MPI_Init_thread failed");
        if (atexit(finalize_at_exit) != 0)
            lidl_error(L, fname, "cannot register MPI_Finalize with atexit");
    }
    MPI_Comm dup;
    check_mpi(L, MPI_Comm_dup(MPI_COMM_WORLD, &dup), fname, "MPI_Comm_dup");
    check_mpi(L, MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN), fname,
              "MPI_Comm_set_errhandler");
    check_mpi(L, MPI_Comm_rank(dup, &comm_rank), fname, "MPI_Comm_rank");
    check_mpi(L, MPI_Comm_size(dup, &comm_size), fname, "MPI_Comm_size");
    comm = dup;
}

void lidl_mpi_abort_if_parallel(int code)
{
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized && comm != MPI_COMM_NULL && comm_size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
}

static int l_rank(lua_State *L)
{
    ensure_started(L, "mpi.rank");
    lua_pushinteger(L, comm_rank);
    return 1;
}

static int l_size(lua_State *L)
{
    ensure_started(L, "mpi.size");
    lua_pushinteger(L, comm_size);
    return 1;
}

static int l_barrier(lua_State *L)
{
    ensure_started(L, "mpi.barrier");
    if (!solo)
        check_mpi(L, MPI_Barrier(comm), "mpi.barrier", "MPI_Barrier");
    return 0;
}

/* The operand of a collective: one matrix, or the matrices of an array,
 * fused: packed into one buffer for a single collective (a model's six
 * gradient blocks cost one allreduce, not six). */
typedef struct operand {
    int n;          /* matrices */
    idl_mat **m;    /* in a userdata left on the stack; the matrices anchored by the argument */
    size_t total;   /* elements of all */
    bool single;    /* a matrix, not an array */
} operand;

static operand check_operand(lua_State *L, int idx, const char *fname)
{
    operand o = {1, NULL, 0, true};
    idl_mat *m = lidl_testmat(L, idx);
    if (!m && (!lua_istable(L, idx) || luaL_len(L, idx) < 1 || luaL_len(L, idx) > (1 << 20)))
        lidl_error(L, fname, "M must be a matrix or a non-empty array of matrices, got %s",
                   lua_istable(L, idx) ? "an empty table" : luaL_typename(L, idx));
    if (!m) {
        o.single = false;
        o.n = (int)luaL_len(L, idx);
    }
    o.m = lua_newuserdatauv(L, (size_t)o.n * sizeof *o.m, 0);
    for (int k = 0; k < o.n; k++) {
        if (o.single) {
            o.m[k] = m;
        } else {
            lua_geti(L, idx, k + 1);
            o.m[k] = lidl_testmat(L, -1);
            if (!o.m[k])
                lidl_error(L, fname, "M[%d] must be a matrix, got %s", k + 1, luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        o.total += idl_mat_numel(o.m[k]);
    }
    return o;
}

/* Every rank must pass the same shape (or number of matrices and elements)
 * and the same extra value (op, root): one small allreduce of (v, -v) under
 * MAX gives each rank the largest and the smallest of each, so all ranks
 * agree on the verdict and raise together instead of mismatching counts in
 * the collective that follows. */
static void check_agreement(lua_State *L, const operand *o, int extra, const char *fname,
                            const char *extra_name)
{
    long long a = o->single ? o->m[0]->rows : (long long)o->total;
    long long b = o->single ? o->m[0]->cols : o->n;
    long long v[6] = {a, b, extra, -a, -b, -(long long)extra};
    check_mpi(L, MPI_Allreduce(MPI_IN_PLACE, v, 6, MPI_LONG_LONG, MPI_MAX, comm), fname,
              "MPI_Allreduce");
    if ((v[0] != -v[3] || v[1] != -v[4]) && o->single)
        lidl_error(L, fname, "the matrices differ across ranks (this rank's is %lldx%lld; rows "
                   "range over [%lld, %lld], columns over [%lld, %lld])", a, b, -v[3], v[0], -v[4],
                   v[1]);
    if (v[0] != -v[3] || v[1] != -v[4])
        lidl_error(L, fname, "the arrays of matrices differ across ranks (this rank's has %lld "
                   "matrices, %lld elements)", b, a);
    if (v[2] != -v[5])
        lidl_error(L, fname, "%s differs across ranks", extra_name);
}

/* Runs the collective `run` on the n doubles at buf, in pieces an int count can hold. */
typedef int (*collective)(double *buf, int n, const void *arg);

static void run_chunked(lua_State *L, double *buf, size_t n, collective run, const void *arg,
                        const char *fname, const char *call)
{
    for (size_t done = 0; done < n;) {
        size_t k = n - done < (size_t)INT_MAX ? n - done : (size_t)INT_MAX;
        check_mpi(L, run(buf + done, (int)k, arg), fname, call);
        done += k;
    }
}

/* Copies the operand's matrices to (pack) or from buf, column by column. */
static void copy_operand(const operand *o, double *buf, bool pack)
{
    size_t off = 0;
    for (int k = 0; k < o->n; k++) {
        const idl_mat *m = o->m[k];
        for (int j = 0; j < m->cols; j++, off += (size_t)m->rows) {
            double *col = &IDL_AT(m, 0, j);
            if (m->rows > 0)
                memcpy(pack ? buf + off : col, pack ? col : buf + off, (size_t)m->rows * sizeof *buf);
        }
    }
}

/* One contiguous matrix runs in place; a view with gaps between columns or an
 * array of matrices goes through one contiguous copy (a Lua userdata, so an
 * error cannot leak it): reductions over derived datatypes with holes are
 * where MPI implementations differ. */
static void run_on_operand(lua_State *L, const operand *o, collective run, const void *arg,
                           const char *fname, const char *call)
{
    if (o->single && idl_mat_contiguous(o->m[0])) {
        run_chunked(L, o->m[0]->data, o->total, run, arg, fname, call);
        return;
    }
    double *buf = lua_newuserdatauv(L, o->total * sizeof *buf + 1, 0);
    copy_operand(o, buf, true);
    run_chunked(L, buf, o->total, run, arg, fname, call);
    copy_operand(o, buf, false);
    lua_pop(L, 1);
}

static int run_allreduce(double *buf, int n, const void *arg)
{
    return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, *(const MPI_Op *)arg, comm);
}

static int run_bcast(double *buf, int n, const void *arg)
{
    return MPI_Bcast(buf, n, MPI_DOUBLE, *(const int *)arg, comm);
}

/* The op argument at idx: 0 "sum" (also when absent), 1 "max", 2 "min". */
static int check_op(lua_State *L, int idx, const char *fname)
{
    static const char *const names[] = {"sum", "max", "min"};
    if (lua_isnoneornil(L, idx))
        return 0;
    const char *op = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
    for (int k = 0; op && k < 3; k++)
        if (strcmp(op, names[k]) == 0)
            return k;
    return lidl_error(L, fname, "op must be \"sum\", \"max\" or \"min\", got %s%s%s",
                      op ? "\"" : "", op ? op : luaL_typename(L, idx), op ? "\"" : "");
}

static int l_allreduce(lua_State *L)
{
    const char *fn = "mpi.allreduce";
    int which = check_op(L, 2, fn);
    lua_settop(L, 2);
    operand o = check_operand(L, 1, fn);
    ensure_started(L, fn);
    if (!solo) {
        check_agreement(L, &o, which, fn, "op");
        const MPI_Op ops[] = {MPI_SUM, MPI_MAX, MPI_MIN};
        run_on_operand(L, &o, run_allreduce, &ops[which], fn, "MPI_Allreduce");
    }
    lua_settop(L, 1);
    return 1;
}

static int l_bcast(lua_State *L)
{
    const char *fn = "mpi.bcast";
    lua_settop(L, 2);
    operand o = check_operand(L, 1, fn);
    ensure_started(L, fn);
    int root = (int)lidl_checkrange(L, 2, 0, comm_size - 1, fn, "root");
    if (!solo) {
        check_agreement(L, &o, root, fn, "root");
        run_on_operand(L, &o, run_bcast, &root, fn, "MPI_Bcast");
    }
    lua_settop(L, 1);
    return 1;
}

/* The kinds of value mpi.gather moves. */
enum { GATHER_MATRIX = 1, GATHER_STRING = 2 };

/* What every rank contributes to a gather, exchanged first: kind, root,
 * rows (a string: its length), cols (a string: 1). */
enum { GATHER_FIELDS = 4 };

/* Checks the exchanged descriptions alike on every rank (so that all raise
 * together, before the data moves); returns the elements in all. */
static size_t check_gathered(lua_State *L, const long long *all, const char *fname)
{
    size_t total = 0;
    for (int r = 0; r < comm_size; r++) {
        const long long *d = all + (size_t)r * GATHER_FIELDS;
        if (d[0] != all[0])
            lidl_error(L, fname, "rank %d passes a %s, rank 0 a %s", r,
                       d[0] == GATHER_MATRIX ? "matrix" : "string",
                       all[0] == GATHER_MATRIX ? "matrix" : "string");
        if (d[1] != all[1])
            lidl_error(L, fname, "root differs across ranks (rank 0: %lld, rank %d: %lld)", all[1], r,
                       d[1]);
        total += (size_t)d[2] * (size_t)d[3];
    }
    if (total > (size_t)INT_MAX)
        lidl_error(L, fname, "%zu elements in all: more than one gather moves (at most %d)", total,
                   INT_MAX);
    return total;
}

/* On root: pushes the array of the gathered values, rank r's at index r + 1,
 * built from buf (all ranks' elements back to back). */
static void push_gathered(lua_State *L, const long long *all, const char *buf, const char *fname)
{
    lua_createtable(L, comm_size, 0);
    size_t off = 0;
    for (int r = 0; r < comm_size; r++) {
        const long long *d = all + (size_t)r * GATHER_FIELDS;
        size_t n = (size_t)d[2] * (size_t)d[3];
        if (d[0] == GATHER_STRING) {
            lua_pushlstring(L, buf + off, n);
            off += n;
        } else {
            idl_mat *m = lidl_newmat(L, (int)d[2], (int)d[3], fname);
            if (n > 0)
                memcpy(m->data, buf + off, n * sizeof(double));
            off += n * sizeof(double);
        }
        lua_rawseti(L, -2, r + 1);
    }
}

/* mpi.gather(v, root): every rank's v (a matrix, or a string) collected on
 * root in rank order; the shapes may differ across ranks. One MPI_Allgather
 * of the descriptions, then one MPI_Gatherv of the elements (a strided view
 * goes through a contiguous copy). */
static int l_gather(lua_State *L)
{
    const char *fn = "mpi.gather";
    lua_settop(L, 2);
    idl_mat *m = lidl_testmat(L, 1);
    size_t len = 0;
    const char *s = !m && lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
    if (!m && !s)
        return lidl_error(L, fn, "v must be a matrix or a string, got %s", luaL_typename(L, 1));
    if (s && len > (size_t)INT_MAX)
        return lidl_error(L, fn, "the string has %zu bytes, more than one gather moves", len);
    ensure_started(L, fn);
    int root = (int)lidl_checkrange(L, 2, 0, comm_size - 1, fn, "root");
    long long mine[GATHER_FIELDS] = {m ? GATHER_MATRIX : GATHER_STRING, root,
                                     m ? m->rows : (long long)len, m ? m->cols : 1};
    long long *all = lua_newuserdatauv(L, sizeof mine * (size_t)comm_size, 0); /* 3 */
    if (solo)
        memcpy(all, mine, sizeof mine);
    else
        check_mpi(L, MPI_Allgather(mine, GATHER_FIELDS, MPI_LONG_LONG, all, GATHER_FIELDS,
                                   MPI_LONG_LONG, comm), fn, "MPI_Allgather");
    size_t total = check_gathered(L, all, fn);
    size_t unit = m ? sizeof(double) : 1;
    const char *send = s;
    if (m && idl_mat_contiguous(m)) {
        send = (const char *)m->data;
    } else if (m) {
        double *copy = lua_newuserdatauv(L, idl_mat_numel(m) * sizeof *copy + 1, 0); /* 4 */
        operand o = {1, &m, idl_mat_numel(m), true};
        copy_operand(&o, copy, true);
        send = (const char *)copy;
    }
    bool receiving = comm_rank == root;
    char *buf = receiving ? lua_newuserdatauv(L, total * unit + 1, 0) : NULL;
    if (solo) {
        if (total > 0)
            memcpy(buf, send, total * unit);
    } else {
        int *counts = lua_newuserdatauv(L, 2 * sizeof(int) * (size_t)comm_size, 0);
        for (int r = 0, off = 0; r < comm_size; r++) {
            const long long *d = all + (size_t)r * GATHER_FIELDS;
            counts[r] = (int)(d[2] * d[3]);
            counts[comm_size + r] = off;
            off += counts[r];
        }
        MPI_Datatype type = m ? MPI_DOUBLE : MPI_CHAR;
        check_mpi(L, MPI_Gatherv(send, (int)(mine[2] * mine[3]), type, buf, counts,
                                 counts + comm_size, type, root, comm), fn, "MPI_Gatherv");
    }
    if (!receiving) {
        lua_pushnil(L);
        return 1;
    }
    push_gathered(L, all, buf, fn);
    return 1;
}

static int l_available(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

#else /* built without MPI */

void lidl_mpi_abort_if_parallel(int code)
{
    (void)code;
}

static int l_unavailable(lua_State *L)
{
    return luaL_error(L, "%s", NO_MPI_MESSAGE);
}

#define l_rank l_unavailable
#define l_size l_unavailable
#define l_barrier l_unavailable
#define l_allreduce l_unavailable
#define l_bcast l_unavailable
#define l_gather l_unavailable

static int l_available(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}
#endif

static int l_fused_buffer(lua_State *L)
{
    const char *fn = "mpi.fused_buffer";
    if (!lua_istable(L, 1) || luaL_len(L, 1) < 1 || luaL_len(L, 1) > (1 << 20))
        return lidl_error(L, fn, "shapes must be a non-empty array of {rows, cols}, got %s",
                          lua_istable(L, 1) ? "an empty table" : luaL_typename(L, 1));
    lua_settop(L, 1);
    int n = (int)luaL_len(L, 1);
    size_t total = 0;
    for (int k = 1; k <= n; k++) {
        lua_geti(L, 1, k);
        if (!lua_istable(L, -1))
            lidl_error(L, fn, "shapes[%d] must be {rows, cols}, got %s", k, luaL_typename(L, -1));
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        int r = lidl_checksize(L, -2, fn, "rows"), c = lidl_checksize(L, -1, fn, "cols");
        lua_pop(L, 3);
        total += (size_t)r * (size_t)c;
    }
    if (total > (size_t)INT32_MAX)
        return lidl_error(L, fn, "%zu elements in all: more than one matrix holds", total);
    idl_mat *flat = lidl_newmat(L, (int)total, 1, fn);
    idl_fill(flat, 0.0);
    lua_createtable(L, n, 0);
    size_t off = 0;
    for (int k = 1; k <= n; k++) {
        lua_geti(L, 1, k);
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        int r = (int)lua_tointeger(L, -2), c = (int)lua_tointeger(L, -1);
        lua_pop(L, 3);
        lidl_newview(L, 2, idl_mat_wrap(flat->data + off, r, c));
        lua_rawseti(L, 3, k);
        off += (size_t)r * (size_t)c;
    }
    return 2;
}

/* Registers the table `mpi` in the module table at -1 (lua/idl/mpi.lua returns it). */
void lidl_open_mpi(lua_State *L)
{
    static const luaL_Reg fns[] = {{"rank", l_rank},           {"size", l_size},
                                   {"allreduce", l_allreduce}, {"bcast", l_bcast},
                                   {"barrier", l_barrier},     {"available", l_available},
                                   {"gather", l_gather},
                                   {"fused_buffer", l_fused_buffer}, {NULL, NULL}};
    /* With one upvalue every entry is a closure of its own: without MPI the
     * stubs share one C function and must still be distinct values. */
    lua_createtable(L, 0, 8);
    lua_pushliteral(L, "idl.mpi");
    luaL_setfuncs(L, fns, 1);
    lua_setfield(L, -2, "mpi");
}
