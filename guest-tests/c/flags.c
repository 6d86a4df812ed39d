/* flags.c - ipcemu guest test: the flags an AND, OR, XOR or TEST leaves (8, 16 and 32 bits),
 * read back by the instructions that need all of EFLAGS at once: LAHF, PUSHFD, and ROL (which
 * keeps SF, ZF and PF and sets CF and OF), each with and without a guest store right after.
 * patches/unicorn computes those flags inline for logic operations instead of calling
 * helper_cc_compute_all; this pins the result bit for bit against values computed here in C.
 *
 * Run:    ipcemu run fixtures/elf/flags.elf        (also runs under qemu-i386 or natively)
 * Output: one PASS line per check, or a FAIL line naming the case; exit status = failures.
 *
 * AF is left out: the architecture leaves it undefined after logic operations.
 * Freestanding: no C library (rt.h). Built by guest-tests/build-fixtures.sh. Written for ipcemu.
 */
typedef unsigned int u32;

#include "rt.h"

#define CF 0x001u
#define PF 0x004u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u

static u32 failures;
volatile u32 sink;

static void put(const char *s)
{
    u32 n = 0;
    while (s[n])
        n++;
    sys_write(1, s, n);
}

static void put_hex(u32 v)
{
    char b[10] = "0x";
    for (int i = 0; i < 8; i++)
        b[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    sys_write(1, b, sizeof b);
}

/* SF, ZF and PF of a logic result of `bits` bits (CF = OF = 0). */
static u32 logic_flags(u32 r, int bits)
{
    u32 mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    r &= mask;
    u32 f = 0;
    if (!__builtin_parity(r & 0xff))
        f |= PF;
    if (r == 0)
        f |= ZF;
    if (r >> (bits - 1))
        f |= SF;
    return f;
}

/* The flags after `rol $1` of a logic result: SF, ZF and PF kept, CF = the bit rotated in,
 * OF = CF xor the new top bit. */
static u32 rol_flags(u32 r, int bits)
{
    u32 mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    u32 v = r & mask;
    u32 top = v >> (bits - 1);
    u32 rotated = ((v << 1) | top) & mask;
    u32 f = logic_flags(r, bits) | (top ? CF : 0);
    if ((rotated >> (bits - 1)) ^ top)
        f |= OF;
    return f;
}

/* Each case runs the logic operation on (a, b) at one size and returns the flags seen by
 * LAHF (in bits 0-7) and by PUSHFD after ROL (bits 16-27). The store variants put a guest
 * store between the flag-setting instruction and the reader. */
#define CASE(fn, op, suf, reg_a, reg_b, rol_reg)                                               \
    static u32 fn(u32 a, u32 b, int store)                                                     \
    {                                                                                          \
        u32 ah, fl, x = a;                                                                     \
        if (store)                                                                             \
            __asm__ volatile(op suf " %" reg_b "2, %" reg_a "1\n\t"                          \
                             "movl %1, sink\n\t"                                               \
                             "lahf\n\t"                                                        \
                             "movzbl %%ah, %0\n\t"                                             \
                             : "=&a"(ah), "+r"(x)                                              \
                             : "r"(b)                                                          \
                             : "cc", "memory");                                                \
        else                                                                                   \
            __asm__ volatile(op suf " %" reg_b "2, %" reg_a "1\n\t"                          \
                             "lahf\n\t"                                                        \
                             "movzbl %%ah, %0\n\t"                                             \
                             : "=&a"(ah), "+r"(x)                                              \
                             : "r"(b)                                                          \
                             : "cc");                                                          \
        x = a;                                                                                 \
        if (store)                                                                             \
            __asm__ volatile(op suf " %" reg_b "2, %" reg_a "1\n\t"                          \
                             "rol" suf " $1, %" rol_reg "1\n\t"                               \
                             "movl %1, sink\n\t"                                               \
                             "pushfl\n\t"                                                      \
                             "popl %0\n\t"                                                     \
                             : "=&r"(fl), "+r"(x)                                              \
                             : "r"(b)                                                          \
                             : "cc", "memory");                                                \
        else                                                                                   \
            __asm__ volatile(op suf " %" reg_b "2, %" reg_a "1\n\t"                          \
                             "rol" suf " $1, %" rol_reg "1\n\t"                               \
                             "pushfl\n\t"                                                      \
                             "popl %0\n\t"                                                     \
                             : "=&r"(fl), "+r"(x)                                              \
                             : "r"(b)                                                          \
                             : "cc");                                                          \
        return (ah & 0xff) | ((fl & 0xfff) << 16);                                             \
    }

/* For TEST the destination is not written: ROL rotates the first operand itself. */
CASE(and32, "and", "l", "", "", "")
CASE(or32, "or", "l", "", "", "")
CASE(xor32, "xor", "l", "", "", "")
CASE(and16, "and", "w", "w", "w", "w")
CASE(or16, "or", "w", "w", "w", "w")
CASE(xor16, "xor", "w", "w", "w", "w")
CASE(test32, "test", "l", "", "", "")
CASE(test16, "test", "w", "w", "w", "w")

/* 8-bit forms need byte registers: a, b, c or d. */
#define CASE8(fn, op)                                                                          \
    static u32 fn(u32 a, u32 b, int store)                                                     \
    {                                                                                          \
        u32 ah, fl, x = a;                                                                     \
        if (store)                                                                             \
            __asm__ volatile(op "b %b2, %b1\n\tmovl %1, sink\n\tlahf\n\tmovzbl %%ah, %0\n\t"  \
                             : "=&a"(ah), "+q"(x) : "q"(b) : "cc", "memory");                 \
        else                                                                                   \
            __asm__ volatile(op "b %b2, %b1\n\tlahf\n\tmovzbl %%ah, %0\n\t"                    \
                             : "=&a"(ah), "+q"(x) : "q"(b) : "cc");                           \
        x = a;                                                                                 \
        if (store)                                                                             \
            __asm__ volatile(op "b %b2, %b1\n\trolb $1, %b1\n\tmovl %1, sink\n\t"              \
                             "pushfl\n\tpopl %0\n\t"                                           \
                             : "=&r"(fl), "+q"(x) : "q"(b) : "cc", "memory");                 \
        else                                                                                   \
            __asm__ volatile(op "b %b2, %b1\n\trolb $1, %b1\n\tpushfl\n\tpopl %0\n\t"          \
                             : "=&r"(fl), "+q"(x) : "q"(b) : "cc");                           \
        return (ah & 0xff) | ((fl & 0xfff) << 16);                                             \
    }

CASE8(and8, "and")
CASE8(or8, "or")
CASE8(xor8, "xor")
CASE8(test8, "test")

struct op {
    const char *name;
    u32 (*fn)(u32, u32, int);
    int bits;
    int kind; /* 0 and, 1 or, 2 xor, 3 test */
};

static const struct op ops[] = {
    {"and8", and8, 8, 0},    {"or8", or8, 8, 1},       {"xor8", xor8, 8, 2},
    {"test8", test8, 8, 3},  {"and16", and16, 16, 0},  {"or16", or16, 16, 1},
    {"xor16", xor16, 16, 2}, {"test16", test16, 16, 3}, {"and32", and32, 32, 0},
    {"or32", or32, 32, 1},   {"xor32", xor32, 32, 2},  {"test32", test32, 32, 3},
};

static u32 rng = 0x12345678;
static u32 next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

__attribute__((used)) static void cmain(void)
{
    /* Edge values first (zero, sign bits, parity of the low byte), then random ones. */
    static const u32 edges[] = {0, 1, 3, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
                                0x7fffffff, 0x80000000, 0xffffffff, 0x55aa55aa, 0x0f0f0f0f};
    const u32 n_edges = sizeof edges / sizeof edges[0];
    const u32 mask_lahf = SF | ZF | PF | CF; /* AF undefined */
    const u32 mask_rol = SF | ZF | PF | CF | OF;
    for (u32 store = 0; store < 2; store++) {
        for (u32 o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            const struct op *op = &ops[o];
            u32 bad = 0, cases = 0;
            for (u32 i = 0; i < n_edges * n_edges + 2000; i++) {
                u32 a, b;
                if (i < n_edges * n_edges) {
                    a = edges[i / n_edges];
                    b = edges[i % n_edges];
                } else {
                    a = next();
                    b = next();
                    if (i & 1)
                        b |= a; /* more zero results for AND/TEST against ~b below */
                    if (i & 2)
                        b = ~b;
                }
                u32 r = op->kind == 1 ? (a | b) : op->kind == 2 ? (a ^ b) : (a & b);
                u32 got = op->fn(a, b, (int)store);
                u32 want_lahf = logic_flags(r, op->bits);
                /* TEST leaves its operand alone, so ROL rotates `a`; the others rotate r. */
                u32 want_rol = rol_flags(op->kind == 3 ? a : r, op->bits);
                if (op->kind == 3) /* SF, ZF, PF still come from the TEST result */
                    want_rol = (want_rol & (CF | OF)) | logic_flags(r, op->bits);
                cases++;
                if ((got & mask_lahf) != want_lahf ||
                    ((got >> 16) & mask_rol) != want_rol) {
                    if (bad++ < 3) {
                        put("FAIL flags ");
                        put(op->name);
                        put(store ? " (store) a=" : " a=");
                        put_hex(a);
                        put(" b=");
                        put_hex(b);
                        put(" got=");
                        put_hex(got);
                        put(" want=");
                        put_hex(want_lahf | (want_rol << 16));
                        put("\n");
                    }
                }
            }
            if (bad) {
                failures++;
            } else {
                put("PASS flags ");
                put(op->name);
                put(store ? " with a store before the reader\n" : "\n");
            }
            (void)cases;
        }
    }
    sys_exit_group((int)failures);
}

__asm__(".globl _start\n"
        "_start:\n"
        "    andl $-16, %esp\n"
        "    call cmain\n"
        "    hlt\n");
