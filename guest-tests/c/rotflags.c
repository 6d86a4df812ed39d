/* rotflags.c - ipcemu guest test: the flags after a rotate by a constant (ROL, ROR) that follows
 * an AND, XOR or TEST, at 8, 16 and 32 bits, with counts 1, 3 and 8, read back every way the
 * translator can read them.
 *
 * patches/unicorn keeps those flags lazy (CC_OP_ADCOX_LOGIC: the logic result for ZF, SF and
 * PF, the rotate's CF and OF apart) instead of computing all of EFLAGS at the rotate. This pins
 * the result bit for bit against values computed here in C, for each reader:
 *   - SETcc of the conditions read straight from the lazy state (O, NO, B, AE, E, NE, S, NS),
 *     then PUSHFD (all flags computed inline), then the conditions that need them (P, NP, BE,
 *     A, L, GE, LE, G);
 *   - DEC, which keeps CF (read from the lazy state) and sets the rest, then PUSHFD;
 * each in three variants: the reader right after the rotate, after a guest store (the state
 * goes to memory before it), and after a jump that ends the translated block (the next block
 * computes the flags from the state in memory, helper_cc_compute_all and _c).
 *
 * Run:    ipcemu run fixtures/elf/rotflags.elf      (also runs under qemu-i386 or natively)
 * Output: one PASS line per operation, size and rotate, or FAIL lines naming the case; exit
 *         status = failures.
 *
 * AF is left out (undefined after logic operations), and OF after a count other than 1 (the
 * architecture leaves it undefined; processors differ).
 * Freestanding: no C library (rt.h). Built by guest-tests/build-fixtures.sh. Written for ipcemu.
 */
typedef unsigned int u32;
typedef unsigned char u8;

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

static void put_dec(u32 v)
{
    char b[12];
    int i = 11;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b + i);
}

/* What one case leaves: the SETcc bytes (in the order of the asm below), PUSHFD after them,
 * and PUSHFD after DEC of `y`. */
struct seen {
    u8 cc[16];
    u32 fl;
    u32 dec_fl;
};

/* The SETcc sequence: first the conditions the translator reads straight from the lazy
 * state, then PUSHFD, then the conditions it computes all flags for. */
#define READERS                                                                                \
    "seto 0(%%edi)\n\tsetno 1(%%edi)\n\tsetb 2(%%edi)\n\tsetae 3(%%edi)\n\t"                   \
    "sete 4(%%edi)\n\tsetne 5(%%edi)\n\tsets 6(%%edi)\n\tsetns 7(%%edi)\n\t"                   \
    "pushfl\n\tpopl 16(%%edi)\n\t"                                                             \
    "setp 8(%%edi)\n\tsetnp 9(%%edi)\n\tsetbe 10(%%edi)\n\tseta 11(%%edi)\n\t"                \
    "setl 12(%%edi)\n\tsetge 13(%%edi)\n\tsetle 14(%%edi)\n\tsetg 15(%%edi)\n\t"

/* Between the rotate and the reader: nothing, a guest store, or a jump to the next
 * instruction (which ends the translated block). */
#define MID_0 ""
#define MID_1 "movl %1, sink\n\t"
#define MID_2 "jmp 1f\n1:\n\t"

#define SUF_8 "b"
#define SUF_16 "w"
#define SUF_32 "l"
#define MOD_8 "b"
#define MOD_16 "w"
#define MOD_32 "k"

/* One function per operation, size, rotate, count and variant. For TEST the rotate takes the
 * untouched first operand. */
#define DEF(bits, op, rot, cnt, mid)                                                           \
    static void op##bits##_##rot##cnt##_##mid(u32 a, u32 b, struct seen *s)                    \
    {                                                                                          \
        u32 x = a;                                                                             \
        __asm__ volatile(#op SUF_##bits " %" MOD_##bits "2, %" MOD_##bits "1\n\t"              \
                         #rot SUF_##bits " $" #cnt ", %" MOD_##bits "1\n\t" MID_##mid READERS  \
                         : "+m"(*s), "+q"(x)                                                   \
                         : "q"(b), "D"(s)                                                      \
                         : "cc", "memory");                                                    \
        u32 y = b, fl;                                                                         \
        x = a;                                                                                 \
        __asm__ volatile(#op SUF_##bits " %" MOD_##bits "3, %" MOD_##bits "1\n\t"              \
                         #rot SUF_##bits " $" #cnt ", %" MOD_##bits "1\n\t" MID_##mid          \
                         "decl %2\n\t"                                                         \
                         "pushfl\n\tpopl %0\n\t"                                               \
                         : "=&r"(fl), "+q"(x), "+r"(y)                                         \
                         : "q"(b)                                                              \
                         : "cc", "memory");                                                    \
        s->dec_fl = fl;                                                                        \
    }

#define FOR_MID(bits, op, rot, cnt) DEF(bits, op, rot, cnt, 0) DEF(bits, op, rot, cnt, 1) DEF(bits, op, rot, cnt, 2)
#define FOR_CNT(bits, op, rot) FOR_MID(bits, op, rot, 1) FOR_MID(bits, op, rot, 3) FOR_MID(bits, op, rot, 8)
#define FOR_ROT(bits, op) FOR_CNT(bits, op, rol) FOR_CNT(bits, op, ror)
#define FOR_OP(bits) FOR_ROT(bits, and) FOR_ROT(bits, xor) FOR_ROT(bits, test)

FOR_OP(8)
FOR_OP(16)
FOR_OP(32)

#undef DEF
#define DEF(bits, op, rot, cnt, mid)                                                           \
    {op##bits##_##rot##cnt##_##mid, #op, #rot, bits, cnt, mid},

struct fn {
    void (*fn)(u32, u32, struct seen *);
    const char *op;
    const char *rot;
    int bits;
    int cnt;
    int mid;
};

static const struct fn fns[] = {FOR_OP(8) FOR_OP(16) FOR_OP(32)};

/* SF, ZF and PF of a result of `bits` bits. */
static u32 szp(u32 r, int bits)
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

/* The flags after op, then rot by cnt (CF and OF from the rotate, the rest from op). */
static u32 want_flags(const struct fn *f, u32 a, u32 b)
{
    int bits = f->bits;
    u32 mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    char k = f->op[0];
    u32 r = (k == 'x' ? a ^ b : a & b) & mask; /* and, test: a & b */
    u32 v = (k == 't' ? a : r) & mask;
    u32 n = (u32)f->cnt % (u32)bits;
    u32 rot = v;
    if (n)
        rot = (f->rot[2] == 'l' ? (v << n) | (v >> (bits - n)) : (v >> n) | (v << (bits - n))) &
              mask;
    u32 top = rot >> (bits - 1), next = (rot >> (bits - 2)) & 1;
    u32 cf = f->rot[2] == 'l' ? (rot & 1) : top;
    u32 of = f->rot[2] == 'l' ? (top ^ cf) : (top ^ next);
    return szp(r, bits) | (cf ? CF : 0) | (of ? OF : 0);
}

/* The SETcc results for flags fl, in the order of READERS. */
static void want_cc(u32 fl, u8 *cc)
{
    u32 o = !!(fl & OF), c = !!(fl & CF), z = !!(fl & ZF), s = !!(fl & SF), p = !!(fl & PF);
    u8 v[8] = {(u8)o, (u8)c, (u8)z, (u8)s, (u8)p, (u8)(c | z), (u8)(s ^ o), (u8)(z | (s ^ o))};
    for (int i = 0; i < 8; i++) {
        cc[2 * i] = v[i];
        cc[2 * i + 1] = (u8)!v[i];
    }
}

/* The SETcc slots that depend on OF (seto, setno, setl, setge, setle, setg). */
static int reads_of(int i) { return i < 2 || i >= 12; }

static u32 rng = 0x9e3779b9;
static u32 next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static const char *const mid_name[] = {"right after", "after a store", "after a block end"};

__attribute__((used)) static void cmain(void)
{
    static const u32 edges[] = {0, 1, 2, 3, 0x7f, 0x80, 0xc0, 0xff, 0x100, 0x7fff, 0x8000,
                                0xc000, 0xffff, 0x7fffffff, 0x80000000, 0xc0000000, 0xffffffff,
                                0x55aa55aa, 0x0f0f0f0f, 0x40000001};
    const u32 n_edges = sizeof edges / sizeof edges[0];
    const u32 n_fns = sizeof fns / sizeof fns[0];
    /* One group = one operation, size and rotate: 3 counts x 3 variants. */
    for (u32 g = 0; g < n_fns; g += 9) {
        u32 bad = 0, cases = 0;
        for (u32 j = g; j < g + 9; j++) {
            const struct fn *f = &fns[j];
            const u32 flag_mask = SF | ZF | PF | CF | (f->cnt == 1 ? OF : 0);
            for (u32 i = 0; i < n_edges * n_edges + 300; i++) {
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
                struct seen s;
                for (int k = 0; k < 16; k++)
                    s.cc[k] = 0xee;
                s.fl = s.dec_fl = 0;
                f->fn(a, b, &s);
                u32 want = want_flags(f, a, b);
                u8 cc[16];
                want_cc(want, cc);
                /* DEC of b: CF stays from the rotate, the rest from b - 1 (OF when b was the
                 * smallest negative). */
                u32 d = b - 1;
                u32 want_dec = szp(d, 32) | (want & CF) | (b == 0x80000000u ? OF : 0);
                const u32 dec_mask = SF | ZF | PF | CF | OF;
                int ok = (s.fl & flag_mask) == (want & flag_mask) &&
                         (s.dec_fl & dec_mask) == want_dec;
                for (int k = 0; k < 16; k++)
                    if (s.cc[k] != cc[k] && (f->cnt == 1 || !reads_of(k)))
                        ok = 0;
                cases++;
                if (!ok && bad++ < 3) {
                    put("FAIL rotflags ");
                    put(f->op);
                    put_dec((u32)f->bits);
                    put(" ");
                    put(f->rot);
                    put(" $");
                    put_dec((u32)f->cnt);
                    put(" ");
                    put(mid_name[f->mid]);
                    put(" a=");
                    put_hex(a);
                    put(" b=");
                    put_hex(b);
                    put(" flags=");
                    put_hex(s.fl);
                    put(" want=");
                    put_hex(want);
                    put(" dec=");
                    put_hex(s.dec_fl);
                    put(" want=");
                    put_hex(want_dec);
                    put(" setcc=");
                    for (int k = 0; k < 16; k++)
                        put(s.cc[k] == cc[k] ? "." : s.cc[k] == 1 ? "1" : s.cc[k] == 0 ? "0" : "?");
                    put("\n");
                }
            }
        }
        if (bad) {
            failures++;
        } else {
            put("PASS rotflags ");
            put(fns[g].op);
            put_dec((u32)fns[g].bits);
            put(" ");
            put(fns[g].rot);
            put(" (");
            put_dec(cases);
            put(" cases)\n");
        }
    }
    sys_exit_group((int)failures);
}

__asm__(".globl _start\n"
        "_start:\n"
        "    andl $-16, %esp\n"
        "    call cmain\n"
        "    hlt\n");
