#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write corpus.S: the instruction forms of the relocator's differential test.

Each form is one function, void rl_f_N(struct rl_state *), that loads every
general register but rsp, the flags, ymm0-3/8/9 and MXCSR from the state
block, switches to the test stack (inside the compared arena), runs the
form's set-up code, records the registers as they are at the site, runs the
instruction under test at the local label .Lrl_site_N, and stores the
registers back. The driver probes .Lrl_site_N and compares the runs.

Branch forms end in two paths that write different markers and converge, so
the path taken is part of the result. Forms that must fault only need the
fault. Refused forms are never run: their function is `nop; insn; ret`.

Usage: gen_corpus.py OUTPUT.S
"""
import sys

forms = []

# Feature names -> RL_REQ_* (reloc.h).
REQ = {
    'avx2': 'RL_REQ_AVX2', 'bmi1': 'RL_REQ_BMI1', 'bmi2': 'RL_REQ_BMI2',
    'lzcnt': 'RL_REQ_LZCNT', 'popcnt': 'RL_REQ_POPCNT', 'adx': 'RL_REQ_ADX',
    'movbe': 'RL_REQ_MOVBE', 'sse41': 'RL_REQ_SSE41',
    'sse42': 'RL_REQ_SSE42', 'aes': 'RL_REQ_AES', 'pclmul': 'RL_REQ_PCLMUL',
    'f16c': 'RL_REQ_F16C', 'fma': 'RL_REQ_FMA', 'sha': 'RL_REQ_SHA',
    'rdrand': 'RL_REQ_RDRAND', 'rdseed': 'RL_REQ_RDSEED',
    'clflushopt': 'RL_REQ_CLFLUSHOPT', 'clwb': 'RL_REQ_CLWB',
    'rdpid': 'RL_REQ_RDPID', 'vaes': 'RL_REQ_VAES',
    'vpclmul': 'RL_REQ_VPCLMUL', 'ssse3': 'RL_REQ_SSSE3',
}
GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
        'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']
KINDS = {'ool': 'RL_KIND_OOL', 'branch': 'RL_KIND_BRANCH',
         'fault': 'RL_KIND_FAULT', 'refused': 'RL_KIND_REFUSED'}


def F(cls, insn, pre=(), post=(), kind='ool', req=(), ignore=(), low=False,
      may_refuse=None, err='-EOPNOTSUPP', name=None, may_be_mapped=False):
    """One form. insn: the site's assembly (one line, or .byte lines and
    then name is required); pre: set-up lines before the site; post: lines
    after it, before the epilogue. err: the errno(s) a refused form must get;
    may_refuse: the errno a probed form may be refused with (tolerated,
    reported), for instructions no relocator could handle here."""
    if may_refuse:
        err = may_refuse
    if isinstance(req, str):
        req = (req,)
    forms.append(dict(cls=cls, insn=insn, pre=list(pre), post=list(post),
                      kind=kind, req=list(req), ignore=list(ignore), low=low,
                      may_refuse=may_refuse, err=err,
                      may_be_mapped=may_be_mapped,
                      name=name if name is not None else insn))


def flags(v):
    """Set-up lines that load the flags with v (IF and bit 1 are forced)."""
    return ['pushq $%#x' % (v | 0x202), 'popfq']


def raw(*b):
    return '.byte ' + ', '.join('%#04x' % x for x in b)


# Branch forms: the site branches to 1f (taken) or falls through; both
# paths write a marker and meet at 2.
BR_POST = ['movq $0x0f0f, rl_marker(%rip)', 'jmp 2f',
           '1:', 'movq $0x7a7a, rl_marker(%rip)', '2:']


def B(cls, insn, pre=(), name=None, **kw):
    F(cls, insn, pre=pre, post=BR_POST, kind='branch', name=name, **kw)


# Flag presets for conditional forms: every condition is true under one of
# them and false under another.
FL_A = 0xa93   # OF SF AF CF
FL_B = 0x246   # ZF PF
FL_C = 0x202   # none
FL_D = 0x283   # SF CF
CCS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a',
       's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']

# ------------------------------------------------------------------ ALU
ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp']
for op in ALU:
    c = 'alu'
    F(c, '%sq %%r9, %%rax' % op)
    F(c, '%sl %%ecx, %%r11d' % op)
    F(c, '%sw %%dx, %%r13w' % op)
    F(c, '%sb %%bh, %%al' % op)
    F(c, '%sb %%sil, %%r8b' % op)
    F(c, '%sq $-3, %%rbp' % op)
    F(c, '%sq $0x12345678, %%r15' % op)
    F(c, '%sl $0x1000, %%eax' % op)            # accumulator short form
    F(c, '%sb $0x7f, %%cl' % op)
    F(c, '%sb $3, %%al' % op)
    F(c, '%sw $0x1234, %%dx' % op)
    F(c, '%sq (%%rbx), %%rax' % op)
    F(c, '%sq %%rax, 8(%%rbx)' % op)
    F(c, '%sl $0x11, 16(%%rbx,%%r8,4)' % op)
    F(c, '%sb $5, -1(%%r12)' % op)
    F(c, '%sq 0x100(%%rbx,%%r8,8), %%r14' % op)
    # RIP-relative, with and without an immediate after the displacement.
    F(c, '%sq rl_data+8(%%rip), %%rcx' % op)
    F(c, '%sq %%rdx, rl_data+16(%%rip)' % op)
    F(c, '%sl $5, rl_data+24(%%rip)' % op)
    F(c, '%sq $0x12345678, rl_data+8(%%rip)' % op)
    F(c, '%sw $0x1234, rl_data+40(%%rip)' % op)
    F(c, '%sb $0x80, rl_data+3(%%rip)' % op)
    F(c, '%sb rl_data+5(%%rip), %%r10b' % op)
    if op != 'cmp':
        F(c, 'lock %sq %%rax, (%%rbx)' % op)
        F(c, 'lock %sl $7, rl_data+32(%%rip)' % op)
        F(c, 'lock %sw $0x1234, rl_data+48(%%rip)' % op)
        F(c, 'lock %sq $-1, rl_data+56(%%rip)' % op)
for t in ['testq %r9, %rax', 'testb %cl, %bl', 'testl $0x80000000, %r11d',
          'testb $1, %al', 'testq $0x7fffffff, (%rbx)',
          'testl $0x12345678, rl_data(%rip)', 'testb $1, rl_data+1(%rip)',
          'testw $0x8001, rl_data+2(%rip)', 'testq %rcx, rl_data+8(%rip)']:
    F('alu', t)

# ------------------------------------------------------------- unary
for op in ['inc', 'dec', 'neg', 'not']:
    c = 'unary'
    F(c, '%sq %%rax' % op)
    F(c, '%sl %%r9d' % op)
    F(c, '%sw %%r10w' % op)
    F(c, '%sb %%ah' % op)
    F(c, '%sq (%%rbx)' % op)
    F(c, '%sb rl_data+7(%%rip)' % op)
    F(c, '%sw rl_data+2(%%rip)' % op)
    F(c, 'lock %sq rl_data+8(%%rip)' % op)
    F(c, 'lock %sl 4(%%r12,%%r8,2)' % op)

# ---------------------------------------------------- shifts, rotates
for op in ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar']:
    c = 'shift'
    F(c, '%sq %%rax' % op)                     # by 1
    F(c, '%sl $7, %%r9d' % op)
    F(c, '%sq %%cl, %%r15' % op)
    F(c, '%sb $3, %%dl' % op)
    F(c, '%sw %%cl, (%%rbx)' % op)
    F(c, '%sq $3, rl_data(%%rip)' % op)       # imm8 after the disp32
    F(c, '%sl rl_data+4(%%rip)' % op)
    F(c, '%sw %%cl, rl_data+2(%%rip)' % op)
for t in ['shldq $5, %rax, %rdx', 'shrdl %cl, %r9d, %r10d',
          'shldq $5, %rax, rl_data(%rip)', 'shrdw $3, %ax, rl_data+2(%rip)',
          'shldl %cl, %ecx, rl_data+4(%rip)', 'shrdq %cl, %rdx, (%rbx)']:
    F('shift', t)

# ------------------------------------------------------ mul, div
for t in ['mulq %r9', 'mulb %cl', 'mulw (%rbx)', 'mull rl_data(%rip)',
          'imulq %rcx', 'imulb rl_data+1(%rip)', 'imul %rcx, %rax',
          'imul (%rbx), %r9d', 'imul $7, %rbx, %rax',
          'imul $100000, %r9d, %r10d', 'imul $0x12345, rl_data(%rip), %rax',
          'imulw $-3, rl_data+2(%rip), %dx', 'imul $3, rl_data+8(%rip), %r12',
          'imulq rl_data+16(%rip), %rsi']:
    F('muldiv', t)
DIVPRE = ['xorl %edx, %edx', 'movl $7, %ecx']
F('muldiv', 'divq %rcx', pre=DIVPRE)
F('muldiv', 'divl %ecx', pre=DIVPRE)
F('muldiv', 'divw %cx', pre=DIVPRE)
F('muldiv', 'divb %cl', pre=['movw $300, %ax', 'movb $5, %cl'])
F('muldiv', 'idivq %rcx', pre=['cqto', 'movq $-7, %rcx'])
F('muldiv', 'idivb %cl', pre=['movw $-300, %ax', 'movb $7, %cl'])
F('muldiv', 'divl rl_data(%rip)',
  pre=['xorl %edx, %edx', 'movl $13, rl_data(%rip)'])
F('muldiv', 'idivq rl_data+8(%rip)',
  pre=['cqto', 'movq $-9, rl_data+8(%rip)'])
F('muldiv', 'idivw (%rbx)', pre=['cwtd', 'movw $11, (%rbx)'])
F('muldiv', 'mulxq %r9, %r10, %r11', req='bmi2')
F('muldiv', 'mulxq rl_data(%rip), %r10, %r11', req='bmi2')

# ---------------------------------------------------------------- lea
for t in ['leaq 8(%rbx,%r8,4), %rax', 'leaq rl_data(%rip), %rcx',
          'leaq rl_data+0x100(%rip), %r12', 'leal 1(%rax,%rax), %edx',
          'leaw 3(%rbx), %si', 'leal (%eax), %ecx', 'leaq (%r13,%r13,8), %r13',
          'leaq 0(%rip), %rax', 'leaq -0x1000(%rip), %r9',
          'leaq rl_f_0(%rip), %r10', 'leaq -8(%rsp), %rdi',
          'leal rl_data(%rip), %eax', 'leaw rl_data(%rip), %ax']:
    F('lea', t)
F('lea', raw(0x66, 0x8d, 0x05, 0x05, 0x05, 0x05, 0x05),
  name='leaw 0x05050505(%rip), %ax (66 8d 05 05 05 05 05)')
F('lea', raw(0x66, 0x48, 0x8d, 0x05, 0x05, 0x05, 0x05, 0x05),
  name='leaq 0x05050505(%rip), %rax (66 48 8d 05 ...)')
F('lea', raw(0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00),
  name='leaq 0(%rip), %rax (48 8d 05 00 00 00 00)')
# The operand is 2 GiB away: a slot elsewhere may not reach it (tolerated
# refusal, reported).
F('lea', 'leaq 0x7ff00000(%rip), %rax', may_refuse='-ENOMEM')
F('lea', 'leaq -0x7ff00000(%rip), %rax', may_refuse='-ENOMEM')

# ---------------------------------------------------------------- mov
for t in ['movq %rax, %r9', 'movl %ecx, %r11d', 'movw %dx, %r13w',
          'movb %ah, %bl', 'movb %sil, %dil', 'movq $-1, %rax',
          'movl $0x89abcdef, %r9d', 'movabsq $0x1122334455667788, %r15',
          'movw $0x1234, %r10w', 'movb $0x5a, %ch', 'movq (%rbx), %rax',
          'movq %rcx, 24(%rbx,%r8,8)', 'movl 0x7ff(%r12), %eax',
          'movq rl_data(%rip), %rax', 'movq %rdx, rl_data+8(%rip)',
          'movl rl_data+4(%rip), %r14d', 'movw %cx, rl_data+6(%rip)',
          'movb rl_data+9(%rip), %ah', 'movb %r9b, rl_data+10(%rip)',
          'movq $0x12345678, rl_data(%rip)', 'movq $-2, rl_data+16(%rip)',
          'movl $0xdeadbeef, rl_data+24(%rip)', 'movw $0x1234, rl_data+2(%rip)',
          'movb $0x5a, rl_data+1(%rip)', 'movq rl_data+0xf8(%rip), %r8',
          'movq %rax, -8(%rsp)', 'movq %rcx, -128(%rsp)', 'movq 8(%rsp), %rdx',
          'movq %rsp, %rax', 'movl %esp, %ecx',
          'movzbl rl_data(%rip), %eax', 'movzwl rl_data+2(%rip), %r9d',
          'movzbl %ah, %ecx', 'movzwq (%rbx), %rdx', 'movsbq rl_data+3(%rip), %rax',
          'movswl %cx, %r10d', 'movsbw %cl, %dx', 'movslq rl_data+4(%rip), %rdx',
          'movslq %r11d, %rax', 'movswq (%rbx,%r8,2), %r13',
          'movq %fs:0x10, %rcx', 'movq %fs:0x28, %rax', 'addq %fs:0x10, %rax',
          'movl %fs:(%r8), %r9d', 'movw %ds, %ax', 'movw %ss, %cx',
          'movw %ds, rl_data(%rip)', 'movq %cs, %rdx']:
    F('mov', t)
for cc in CCS:
    F('cmov', 'cmov%sq rl_data(%%rip), %%rax' % cc)
    F('cmov', 'cmov%sl %%ecx, %%r9d' % cc, pre=flags(FL_B))
for cc in CCS:
    F('setcc', 'set%s %%al' % cc)
    F('setcc', 'set%s rl_data+%d(%%rip)' % (cc, CCS.index(cc)),
      pre=flags(FL_D))
for t in ['xchgq %rax, %r9', 'xchgl %eax, %ecx', 'xchgq %rax, (%rbx)',
          'xchgq %rcx, rl_data(%rip)', 'xchgw %ax, %dx', 'xchgb %ah, %al',
          'xchgb %cl, rl_data+1(%rip)']:
    F('xchg', t)
F('xchg', raw(0x41, 0x90), name='xchg %eax, %r8d (41 90, not a nop)')
F('xchg', 'cmpxchgq %rcx, (%rbx)')
F('xchg', 'cmpxchgq %rcx, (%rbx)', pre=['movq (%rbx), %rax'],
  name='cmpxchgq %rcx, (%rbx) (equal)')
F('xchg', 'lock cmpxchgq %rdx, rl_data(%rip)')
F('xchg', 'lock cmpxchgl %edx, rl_data+8(%rip)',
  pre=['movl rl_data+8(%rip), %eax'],
  name='lock cmpxchgl %edx, rl_data+8(%rip) (equal)')
F('xchg', 'cmpxchgb %cl, rl_data+1(%rip)')
F('xchg', 'cmpxchg8b (%rbx)')
F('xchg', 'lock cmpxchg16b rl_data+16(%rip)')
F('xchg', 'lock cmpxchg16b rl_data+16(%rip)',
  pre=['movq rl_data+16(%rip), %rax', 'movq rl_data+24(%rip), %rdx'],
  name='lock cmpxchg16b rl_data+16(%rip) (equal)')
F('xchg', 'xaddq %rax, (%rbx)')
F('xchg', 'lock xaddl %ecx, rl_data(%rip)')
F('xchg', 'xaddw %dx, %r9w')
for t in ['bswapq %rax', 'bswapl %r10d', 'bswapq %r15']:
    F('bits', t)
for op in ['bt', 'bts', 'btr', 'btc']:
    F('bits', '%sq %%rcx, %%rax' % op)
    F('bits', '%sl $31, %%r9d' % op)
    F('bits', '%sq %%rcx, (%%rbx)' % op)
    F('bits', '%sq $63, rl_data(%%rip)' % op)
    F('bits', '%sw $3, rl_data+2(%%rip)' % op)
    F('bits', '%sl %%r13d, rl_data+4(%%rip)' % op)
    if op != 'bt':
        F('bits', 'lock %sl $3, rl_data+4(%%rip)' % op)
        F('bits', 'lock %sq %%rcx, (%%rbx)' % op)
for t in ['bsfq %rax, %rcx', 'bsrq rl_data(%rip), %rdx', 'bsfl %r9d, %r10d',
          'bsrw (%rbx), %ax']:
    F('bits', t)
F('bits', 'bsfq %rax, %rcx', pre=['xorl %eax, %eax'], name='bsfq (zero)')
for t, r in [('popcntq %rax, %rcx', 'popcnt'),
             ('popcntl rl_data(%rip), %r9d', 'popcnt'),
             ('lzcntq %rax, %rcx', 'lzcnt'), ('lzcntl rl_data(%rip), %edx', 'lzcnt'),
             ('tzcntq %r10, %rax', 'bmi1'), ('tzcntw rl_data+2(%rip), %dx', 'bmi1'),
             ('andnq %r9, %rax, %rcx', 'bmi1'),
             ('andnl rl_data(%rip), %eax, %ecx', 'bmi1'),
             ('bextrq %rcx, %rax, %rdx', 'bmi1'),
             ('bextrl %ecx, rl_data(%rip), %edx', 'bmi1'),
             ('blsiq %rax, %rcx', 'bmi1'), ('blsmskq rl_data(%rip), %rcx', 'bmi1'),
             ('blsrl %r11d, %r10d', 'bmi1'),
             ('bzhiq %rcx, %rax, %rdx', 'bmi2'),
             ('pdepq %r14, %rax, %rcx', 'bmi2'),
             ('pextq rl_data(%rip), %rax, %rcx', 'bmi2'),
             ('rorxq $7, %rax, %rcx', 'bmi2'),
             ('rorxq $7, rl_data(%rip), %rax', 'bmi2'),
             ('rorxl $31, rl_data+4(%rip), %r9d', 'bmi2'),
             ('sarxq %rcx, rl_data(%rip), %rax', 'bmi2'),
             ('shlxl %ecx, %eax, %edx', 'bmi2'), ('shrxq %rcx, %r9, %r10', 'bmi2'),
             ('adcxq %r9, %rax', 'adx'), ('adoxq rl_data(%rip), %rcx', 'adx'),
             ('movbeq rl_data(%rip), %rax', 'movbe'),
             ('movbel %ecx, (%rbx)', 'movbe'), ('movbew %dx, rl_data+2(%rip)', 'movbe'),
             ('crc32b %cl, %eax', 'sse42'), ('crc32q rl_data(%rip), %rax', 'sse42'),
             ('crc32w (%rbx), %r9d', 'sse42')]:
    F('bits', t, req=r)

# ----------------------------------------------------------- stack
c = 'stack'
for t in ['pushq %rax', 'pushq %r12', 'pushw %ax', 'pushq $0x12',
          'pushq $0x12345678', 'pushq $-1', 'pushw $0x1234', 'pushq (%rbx)',
          'pushq rl_data(%rip)', 'pushq rl_data+0xf8(%rip)', 'pushq 8(%rsp)',
          'pushq %rsp', 'popq %rcx', 'popq %r15', 'popw %dx', 'popq (%rbx)',
          'popq rl_data+8(%rip)', 'popq 8(%rsp)', 'pushfq', 'pushq %fs',
          'enter $16, $0', 'enter $24, $1']:
    F(c, t)
F(c, 'popq %rsp', pre=['leaq -64(%rsp), %rax', 'pushq %rax'])
F(c, 'popfq', pre=['pushq $0x8d7'])
F(c, 'popfq', pre=['pushq $0x602'], name='popfq (DF set)')
F(c, 'leave', pre=['leaq -64(%rsp), %rbp'])
F(c, 'addq $-256, %rsp')
F(c, 'subq $8, %rsp')
F(c, 'leaq 0x40(%rsp), %rsp')
F(c, 'andq $-64, %rsp')

# ---------------------------------------------------------- strings
c = 'string'
for t in ['movsb', 'movsq', 'stosb', 'stosl', 'lodsq', 'lodsw', 'cmpsb',
          'scasq', 'rep movsb', 'rep movsq', 'rep stosq', 'rep stosb',
          'repe cmpsb', 'repne scasb', 'rep lodsb', 'repe scasw', 'rep movsw']:
    F(c, t)
F(c, 'rep movsb', pre=['std'], name='rep movsb (DF set)')
F(c, 'stosq', pre=['std'], name='stosq (DF set)')
F(c, 'repne cmpsq', pre=['std'], name='repne cmpsq (DF set)')
F(c, 'rep movsb', pre=['xorl %ecx, %ecx'], name='rep movsb (rcx 0)')
F(c, 'repe cmpsb', pre=['movq %rsi, %rdi', 'movl $9, %ecx'],
  name='repe cmpsb (equal strings)')
F(c, 'rep stosb', pre=['movl $300, %ecx'], name='rep stosb (300 bytes)')
F(c, 'addr32 movsb', pre=['movl $0x20000100, %esi', 'movl $0x20000200, %edi'],
  low=True)
F(c, 'addr32 rep stosl',
  pre=['movl $0x20000300, %edi', 'movl $3, %ecx'], low=True)
F(c, 'fs lodsb', pre=['movl $0x10, %esi'])
F(c, 'xlatb')
F(c, raw(0x67, 0xd7), pre=['movl $0x20000000, %ebx', 'movl $0x33, %eax'],
  name='addr32 xlatb', low=True)

# -------------------------------------------------- flags, misc
c = 'flags'
for t in ['cld', 'std', 'clc', 'stc', 'cmc', 'sahf', 'lahf', 'cbtw',
          'cwtl', 'cltq', 'cwtd', 'cltd', 'cqto']:
    F(c, t)
F(c, 'cpuid', pre=['xorl %eax, %eax', 'xorl %ecx, %ecx'],
  name='cpuid (leaf 0)')
F(c, 'cpuid', pre=['movl $7, %eax', 'xorl %ecx, %ecx'],
  name='cpuid (leaf 7)')
F(c, 'rdtsc', ignore=['rax', 'rdx'])
F(c, 'rdtscp', ignore=['rax', 'rdx', 'rcx'])
F(c, 'rdrand %rax', req='rdrand', ignore=['rax', 'flags'])
F(c, 'rdseed %ecx', req='rdseed', ignore=['rcx', 'flags'])
F(c, 'rdpid %rax', req='rdpid', ignore=['rax'])
F(c, 'xgetbv', pre=['xorl %ecx, %ecx'])
for t in ['lfence', 'mfence', 'sfence', 'pause', 'prefetcht0 rl_data(%rip)',
          'prefetchnta (%rbx)', 'prefetchw rl_data+64(%rip)',
          'clflush rl_data(%rip)']:
    F(c, t)
F(c, 'clflushopt rl_data(%rip)', req='clflushopt')
F(c, 'clwb (%rbx)', req='clwb')

# --------------------------------------------------------------- nops
c = 'nop'
NOPS = [
    [0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00],
    [0x0f, 0x1f, 0x44, 0x00, 0x00], [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    [0x0f, 0x1f, 0x80, 0, 0, 0, 0], [0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
    [0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
    [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
]
for extra in range(0, 5):          # 11..15 bytes: more 0x66 prefixes
    NOPS.append([0x66] * (extra + 1) + [0x66, 0x2e, 0x0f, 0x1f, 0x84,
                                         0x00, 0, 0, 0, 0])
for n in NOPS:
    F(c, raw(*n), name='nop, %d bytes (%s)' % (len(n), ' '.join('%02x' % b for b in n)))
F(c, 'nopl rl_data(%rip)')
# Displacements that look like ModRM bytes (0x05: mod 00, rm 101), where a
# search for the displacement in the bytes could find it twice. NOPs and lea
# do not access memory: any displacement will do.
F(c, raw(0x66, 0x0f, 0x1f, 0x05, 0x05, 0x05, 0x05, 0x05),
  name='nopw 0x05050505(%rip) (66 0f 1f 05 05 05 05 05)')
F(c, raw(0x0f, 0x1f, 0x05, 0x05, 0x05, 0x05, 0x05),
  name='nopl 0x05050505(%rip) (0f 1f 05 05 05 05 05)')
F(c, 'nopw rl_data+8(%rip)')
F(c, 'xchgw %ax, %ax')
F(c, 'endbr64')
F(c, 'endbr32')
F(c, raw(0x40, 0x90), name='rex nop (40 90)')
F(c, raw(0x2e, 0x90), name='cs nop')
F(c, 'fnop')
# Capstone 4 does not know the CET and VAES/VPCLMULQDQ encodings: it cannot
# find their length, so a refusal (EILSEQ) is the right answer there.
F(c, 'rdsspq %rax', may_refuse='-EILSEQ')

# ------------------------------------------------------------ prefixes
c = 'prefix'
F(c, raw(0x26, 0x89, 0x4b, 0x08), name='es movl %ecx, 8(%rbx) (26 89 4b 08)')
F(c, raw(0x36, 0x48, 0x83, 0x03, 0x01), name='ss addq $1, (%rbx) (36 48 83 03 01)')
for t in ['ds movq (%rbx), %rax',
          'cs movq rl_data(%rip), %rax', 'ds movq rl_data+8(%rip), %rcx', 'ds movq %rax, rl_data+8(%rip)',
          'data16 lock addl $1, rl_data(%rip)']:
    F(c, t)
F(c, raw(0x66, 0xf0, 0x41, 0x81, 0x44, 0x24, 0x08, 0x34, 0x12),
  pre=['movq %rbx, %r12'], name='lock addw $0x1234, 8(%r12) (66 f0 41)')
F(c, raw(0xf0, 0x66, 0x83, 0x05) + '; .long rl_data+12-(.+5); .byte 0x07',
  name='lock addw $7, rl_data+12(%rip) (f0 66 83 05)')
F(c, raw(0x2e, 0x3e, 0x48, 0x8b, 0x05) + '; .long rl_data+16-(.+4)',
  name='cs ds movq rl_data+16(%rip), %rax (2e 3e 48)')
F(c, raw(0x48, 0x48, 0x8b, 0xc1), name='movq %rcx, %rax (redundant REX 48 48)')
F(c, raw(0x66, 0x48, 0x8b, 0xc1), name='movq %rcx, %rax (66 48: REX.W wins)')
F(c, raw(0xf3, 0x48, 0x0f, 0xb8, 0xc1), req='popcnt',
  name='popcntq %rcx, %rax (f3 48 0f b8)')
F(c, raw(0x66, 0xf3, 0x0f, 0xb8, 0x05) + '; .long rl_data-(.+4)', req='popcnt',
  name='popcntw rl_data(%rip), %ax (66 f3 0f b8 05)')
F(c, raw(0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x05) + '; .long rl_data+8-(.+4)',
  req='sse42', name='crc32q rl_data+8(%rip), %rax (f2 48 0f 38 f1 05)')
F(c, 'addr32 movl (%eax), %ecx', pre=['movl $0x20000010, %eax'], low=True)
F(c, 'addr32 movq %rdx, 8(%ebx,%r8d,4)', pre=['movl $0x20000020, %ebx'],
  low=True)
F(c, 'movq 0x20000040, %rax', low=True)      # absolute disp32, no base
F(c, 'movq %rcx, 0x20000048', low=True)
F(c, 'addl $0x11223344, 0x20000050', low=True)

# -------------------------------------------------------------- SSE
c = 'sse'
for t in ['movdqa %xmm1, %xmm0', 'movdqu rl_data(%rip), %xmm0',
          'movdqa rl_data+16(%rip), %xmm1', 'movdqu %xmm2, rl_data+8(%rip)',
          'movdqa %xmm3, (%rbx)', 'movaps rl_data(%rip), %xmm2',
          'movups %xmm0, 1(%rbx)', 'movapd %xmm1, %xmm3', 'movss rl_data(%rip), %xmm1',
          'movsd %xmm0, rl_data+8(%rip)', 'movq rl_data(%rip), %xmm2',
          'movq %xmm1, %rax', 'movd %ecx, %xmm0', 'movq %xmm0, rl_data+24(%rip)',
          'movhps rl_data(%rip), %xmm0', 'movlps %xmm1, rl_data+8(%rip)',
          'movntdq %xmm0, rl_data+32(%rip)', 'movnti %rax, rl_data+8(%rip)',
          'lddqu rl_data+3(%rip), %xmm1', 'movddup rl_data(%rip), %xmm2',
          'paddd %xmm1, %xmm0', 'psubq rl_data(%rip), %xmm1', 'pxor %xmm2, %xmm2',
          'pand rl_data+16(%rip), %xmm3', 'por %xmm0, %xmm1',
          'pcmpeqb rl_data(%rip), %xmm0', 'pmaddwd %xmm1, %xmm2',
          'pmuludq rl_data(%rip), %xmm3', 'pshufd $0x1b, rl_data(%rip), %xmm0',
          'pshuflw $0xe4, %xmm1, %xmm2', 'pshufhw $0x1b, rl_data+16(%rip), %xmm3',
          'punpcklbw %xmm1, %xmm0', 'packsswb rl_data(%rip), %xmm1',
          'psllq $7, %xmm0', 'psrad $3, %xmm1', 'pslld %xmm2, %xmm3',
          'pmovmskb %xmm0, %eax', 'pextrw $3, %xmm1, %ecx',
          'pinsrw $5, rl_data+2(%rip), %xmm0', 'pinsrw $1, %eax, %xmm2',
          'addps rl_data(%rip), %xmm0', 'mulpd %xmm1, %xmm0',
          'divsd rl_data+8(%rip), %xmm1', 'sqrtss %xmm0, %xmm2',
          'cvtsi2sdq %rax, %xmm0', 'cvtsi2ssl rl_data(%rip), %xmm1',
          'cvttsd2si %xmm0, %rax', 'cvtsd2ss %xmm1, %xmm3',
          'cvtps2pd rl_data(%rip), %xmm2', 'ucomisd rl_data(%rip), %xmm0',
          'comiss %xmm1, %xmm0', 'maxps %xmm1, %xmm0', 'minsd rl_data(%rip), %xmm3',
          'cmpps $1, rl_data(%rip), %xmm0', 'cmpsd $4, %xmm1, %xmm2',
          'shufps $0x4e, rl_data(%rip), %xmm1', 'shufpd $1, %xmm2, %xmm3',
          'movmskpd %xmm0, %ecx', 'andnps rl_data(%rip), %xmm2',
          'unpckhpd %xmm1, %xmm0', 'psadbw rl_data(%rip), %xmm1',
          'stmxcsr rl_data(%rip)', 'maskmovdqu %xmm1, %xmm0',
          'paddd %xmm8, %xmm9', 'movdqu rl_data(%rip), %xmm8',
          'pxor rl_data+16(%rip), %xmm9', 'movq %xmm9, %r10',
          'cvtsi2sdq %r9, %xmm8', 'pshufd $0x39, rl_data(%rip), %xmm9']:
    F(c, t)
F(c, 'ldmxcsr rl_data(%rip)', pre=['movl $0x7fa0, rl_data(%rip)'])
F(c, 'addps %xmm1, %xmm0', pre=['movl $0x5f80, rl_data(%rip)',
                                'ldmxcsr rl_data(%rip)'],
  name='addps %xmm1, %xmm0 (round down, FTZ)')
# fxsave stores every xmm register: zero those the harness does not load
# (C code between runs leaves anything in them).
XMM_ZERO = ['pxor %%xmm%d, %%xmm%d' % (i, i)
            for i in (4, 5, 6, 7, 10, 11, 12, 13, 14, 15)]
F(c, 'fxsave64 (%rbx)', pre=XMM_ZERO)
F(c, 'fxrstor64 (%rbx)', pre=XMM_ZERO + ['fxsave64 (%rbx)'])
for t, r in [('pshufb rl_data(%rip), %xmm0', 'ssse3'),
             ('palignr $3, rl_data(%rip), %xmm1', 'ssse3'),
             ('pabsd %xmm1, %xmm2', 'ssse3'), ('phaddw rl_data(%rip), %xmm3', 'ssse3'),
             ('pinsrd $2, rl_data(%rip), %xmm2', 'sse41'),
             ('pinsrq $1, %rax, %xmm0', 'sse41'),
             ('pextrd $1, %xmm0, rl_data(%rip)', 'sse41'),
             ('pextrb $5, %xmm0, rl_data+1(%rip)', 'sse41'),
             ('pextrq $1, %xmm1, %rcx', 'sse41'),
             ('insertps $0x10, rl_data(%rip), %xmm0', 'sse41'),
             ('extractps $2, %xmm1, rl_data+4(%rip)', 'sse41'),
             ('blendps $5, rl_data(%rip), %xmm1', 'sse41'),
             ('pblendw $0xaa, %xmm1, %xmm2', 'sse41'),
             ('blendvps rl_data(%rip), %xmm1', 'sse41'),
             ('pblendvb %xmm3, %xmm2', 'sse41'),
             ('roundsd $4, rl_data(%rip), %xmm0', 'sse41'),
             ('roundps $1, %xmm1, %xmm2', 'sse41'),
             ('dpps $0xff, rl_data(%rip), %xmm0', 'sse41'),
             ('mpsadbw $5, rl_data(%rip), %xmm1', 'sse41'),
             ('ptest rl_data(%rip), %xmm0', 'sse41'),
             ('pmulld %xmm1, %xmm0', 'sse41'), ('pminsd rl_data(%rip), %xmm2', 'sse41'),
             ('pmovzxbw rl_data(%rip), %xmm3', 'sse41'),
             ('phminposuw %xmm1, %xmm0', 'sse41'),
             ('movntdqa rl_data+32(%rip), %xmm1', 'sse41'),
             ('pcmpistri $0x0c, rl_data(%rip), %xmm0', 'sse42'),
             ('pcmpestri $0x08, rl_data+16(%rip), %xmm1', 'sse42'),
             ('pcmpistrm $0x40, %xmm2, %xmm1', 'sse42'),
             ('pcmpgtq rl_data(%rip), %xmm3', 'sse42'),
             ('pclmulqdq $0x11, rl_data(%rip), %xmm0', 'pclmul'),
             ('pclmulqdq $0x00, %xmm1, %xmm2', 'pclmul'),
             ('aesenc rl_data(%rip), %xmm0', 'aes'), ('aesdeclast %xmm1, %xmm2', 'aes'),
             ('aeskeygenassist $1, rl_data(%rip), %xmm1', 'aes'),
             ('aesimc rl_data+16(%rip), %xmm3', 'aes'),
             ('sha1rnds4 $0, rl_data(%rip), %xmm0', 'sha'),
             ('sha256msg1 %xmm1, %xmm2', 'sha'),
             ('sha256rnds2 rl_data(%rip), %xmm1', 'sha')]:
    F(c, t, req=r)

# -------------------------------------------------------- AVX, AVX2
c = 'avx'
for t, r in [('vpaddd %ymm1, %ymm2, %ymm0', 'avx2'),
             ('vpaddd rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vpxor %ymm8, %ymm9, %ymm1', 'avx2'),
             ('vpxor rl_data+32(%rip), %ymm9, %ymm8', 'avx2'),
             ('vpshufb rl_data(%rip), %ymm2, %ymm3', 'avx2'),
             ('vpermq $0x1b, rl_data(%rip), %ymm0', 'avx2'),
             ('vpermq $0x4e, %ymm8, %ymm9', 'avx2'),
             ('vpblendd $0xa5, rl_data(%rip), %ymm1, %ymm2', 'avx2'),
             ('vperm2i128 $0x21, rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vinserti128 $1, rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vextracti128 $1, %ymm0, rl_data(%rip)', 'avx2'),
             ('vbroadcastss rl_data(%rip), %ymm0', 'avx2'),
             ('vpbroadcastq rl_data+8(%rip), %ymm1', 'avx2'),
             ('vpbroadcastb %xmm2, %ymm3', 'avx2'),
             ('vmovdqu rl_data(%rip), %ymm0', 'avx2'),
             ('vmovdqa %ymm1, rl_data+64(%rip)', 'avx2'),
             ('vmovdqu %ymm8, 3(%rbx)', 'avx2'),
             ('vmovups (%rbx,%r8,8), %ymm9', 'avx2'),
             ('vmaskmovps %ymm0, %ymm1, rl_data(%rip)', 'avx2'),
             ('vmaskmovpd rl_data+32(%rip), %ymm2, %ymm3', 'avx2'),
             ('vpmaskmovd %ymm0, %ymm1, (%rbx)', 'avx2'),
             ('vpsllvd rl_data(%rip), %ymm1, %ymm2', 'avx2'),
             ('vpsrlvq %ymm1, %ymm2, %ymm3', 'avx2'),
             ('vpslldq $3, %ymm1, %ymm0', 'avx2'),
             ('vtestps rl_data(%rip), %ymm0', 'avx2'),
             ('vptest %ymm1, %ymm2', 'avx2'),
             ('vmovmskps %ymm0, %eax', 'avx2'),
             ('vpextrq $1, %xmm0, rl_data(%rip)', 'avx2'),
             ('vpinsrq $1, rl_data+8(%rip), %xmm1, %xmm2', 'avx2'),
             ('vroundpd $1, rl_data(%rip), %ymm0', 'avx2'),
             ('vdpps $0xf1, rl_data(%rip), %ymm1, %ymm2', 'avx2'),
             ('vmpsadbw $3, rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vaddpd rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vmulps %ymm1, %ymm2, %ymm3', 'avx2'),
             ('vsqrtpd rl_data(%rip), %ymm1', 'avx2'),
             ('vcvtdq2pd rl_data(%rip), %ymm0', 'avx2'),
             ('vcvttpd2dqy %ymm1, %xmm2', 'avx2'),
             ('vshufps $0x1b, rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vpalignr $5, rl_data(%rip), %ymm1, %ymm2', 'avx2'),
             ('vpcmpeqq rl_data(%rip), %ymm0, %ymm1', 'avx2'),
             ('vpmovzxbd rl_data(%rip), %ymm0', 'avx2'),
             ('vblendvps %ymm3, rl_data(%rip), %ymm1, %ymm2', 'avx2'),
             ('vpermd rl_data(%rip), %ymm1, %ymm0', 'avx2'),
             ('vmovd %xmm1, rl_data+4(%rip)', 'avx2'),
             ('vzeroupper', 'avx2'), ('vzeroall', 'avx2'),
             ('vfmadd231pd rl_data(%rip), %ymm1, %ymm0', 'fma'),
             ('vfnmsub132ss %xmm1, %xmm2, %xmm3', 'fma'),
             ('vcvtph2ps rl_data(%rip), %ymm0', 'f16c'),
             ('vcvtps2ph $0, %ymm0, rl_data(%rip)', 'f16c'),
             ('vcvtps2ph $4, %xmm1, %xmm2', 'f16c'),
             ]:
    F(c, t, req=r)
for t, r in [('vaesenc rl_data(%rip), %ymm1, %ymm0', 'vaes'),
             ('vpclmulqdq $0x10, rl_data(%rip), %ymm1, %ymm2', 'vpclmul')]:
    F(c, t, req=r, may_refuse='-EILSEQ')
GATHER_PRE = ['vpxor %ymm1, %ymm1, %ymm1', 'vpcmpeqd %ymm2, %ymm2, %ymm2']
F(c, 'vpgatherdd %ymm2, 8(%rbx,%ymm1,4), %ymm0', pre=GATHER_PRE, req='avx2')
F(c, 'vgatherqpd %ymm2, (%r12,%ymm1,8), %ymm3', pre=GATHER_PRE, req='avx2')

# --------------------------------------------------------------- x87
c = 'x87'
X_POP = ['fstpl 64(%rbx)']
for t in ['faddl rl_data(%rip)', 'fmuls rl_data+8(%rip)', 'fdivrl (%rbx)',
          'fsubl rl_data+16(%rip)', 'fiaddl rl_data(%rip)', 'fsqrt', 'fchs',
          'fabs', 'frndint', 'fsin', 'f2xm1', 'fldz', 'fld1', 'fldpi',
          'fcoml rl_data(%rip)', 'fxam', 'fstl rl_data+32(%rip)',
          'fnstsw %ax', 'fnstsw rl_data(%rip)', 'fnstcw rl_data+2(%rip)',
          'fxch %st(1)', 'fucomi %st(1), %st', 'fcomi %st(1), %st',
          'fcmovb %st(1), %st', 'fldl rl_data(%rip)', 'fildq rl_data+8(%rip)',
          'fldt rl_data+16(%rip)']:
    F(c, t, pre=['fldl rl_data+48(%rip)', 'fldl rl_data+40(%rip)'],
      post=['fstpl 64(%rbx)', 'fstpl 72(%rbx)'] + (
          ['fstpl 80(%rbx)'] if t.startswith(('fld', 'fild')) else []))
for t in ['fstpl rl_data(%rip)', 'fistpll rl_data+8(%rip)',
          'fisttpl rl_data+16(%rip)', 'fstpt rl_data+24(%rip)',
          'fbstp rl_data+40(%rip)', 'fistps (%rbx)', 'fucomip %st(1), %st',
          'fstp %st(0)']:
    F(c, t, pre=['fldl rl_data+48(%rip)', 'fldl rl_data+40(%rip)'],
      post=['fstpl 64(%rbx)'])
F(c, 'fldcw rl_data(%rip)', pre=['movw $0x0c7f, rl_data(%rip)'],
  post=['fldl rl_data+8(%rip)', 'frndint', 'fistpll 64(%rbx)'])
# The x87 last-instruction and last-operand pointers (and opcode) are not
# kept across a signal on every machine: here (AMD, Linux 6.x) any signal
# delivery zeroes them, probe or not. They are masked out after fnstenv and
# fxsave: FIP, FCS, FOP, FDP, FDS at 12..27 of the 28-byte environment,
# FOP, FIP, FDP at 6..23 of the fxsave area.
ENV_MASK = ['movl $0, 12(%rbx)', 'movq $0, 16(%rbx)', 'movl $0, 24(%rbx)']
FX_MASK = ['movw $0, 6(%r12)', 'movq $0, 8(%r12)', 'movq $0, 16(%r12)']
F(c, 'fnstenv (%rbx)', pre=['fldl rl_data+40(%rip)'], post=ENV_MASK + X_POP,
  name='fnstenv (%rbx) (last-ip fields masked)')
F(c, 'faddl rl_data(%rip)', pre=['fldl rl_data+40(%rip)'],
  post=['fnstenv (%rbx)'] + ENV_MASK + ['fstpl 64(%rbx)'],
  name='faddl rl_data(%rip), then fnstenv (last-ip fields masked)')
F(c, 'fsqrt', pre=XMM_ZERO + ['fldl rl_data+40(%rip)'],
  post=['fxsave64 (%r12)'] + FX_MASK + ['fstpl 64(%rbx)'],
  name='fsqrt, then fxsave64 (last-ip fields masked)')
F(c, 'emms')
F(c, 'paddw %mm1, %mm0', post=['movq %mm0, 64(%rbx)', 'emms'],
  pre=['movq rl_data(%rip), %mm0', 'movq rl_data+8(%rip), %mm1'])
F(c, 'pmullw rl_data+16(%rip), %mm1', post=['movq %mm1, 64(%rbx)', 'emms'],
  pre=['movq rl_data+8(%rip), %mm1'])

# --------------------------------------------------------- branches
c = 'jcc'
for cc in CCS:
    for fl in (FL_A, FL_B, FL_C, FL_D):
        B(c, 'j%s 1f' % cc, pre=flags(fl),
          name='j%s rel8 (flags %#x)' % (cc, fl))
    for fl in (FL_A, FL_B):
        B(c, '{disp32} j%s 1f' % cc, pre=flags(fl),
          name='j%s rel32 (flags %#x)' % (cc, fl))
B(c, 'ds jz 1f', pre=flags(FL_B), name='ds jz rel8 (hint taken)')
B(c, 'cs jnz 1f', pre=flags(FL_B), name='cs jnz rel8 (hint)')
B(c, raw(0x48, 0x0f, 0x84) + '; .long 1f-(.+4)', pre=flags(FL_B),
  name='rex.w jz rel32 (48 0f 84)')
c = 'jmp'
B(c, 'jmp 1f', name='jmp rel8')
B(c, '{disp32} jmp 1f', name='jmp rel32')
B(c, 'bnd jmp 1f', name='bnd jmp rel8')
B(c, raw(0x48, 0xe9) + '; .long 1f-(.+4)', name='rex.w jmp rel32 (48 e9)')
B(c, 'jmp *%rax', pre=['leaq 1f(%rip), %rax'])
B(c, 'jmp *%r11', pre=['leaq 1f(%rip), %r11'])
B(c, 'notrack jmp *%rax', pre=['leaq 1f(%rip), %rax'])
B(c, 'bnd jmp *%rcx', pre=['leaq 1f(%rip), %rcx'])
B(c, 'jmp *(%rbx)', pre=['leaq 1f(%rip), %rax', 'movq %rax, (%rbx)'])
B(c, 'jmp *8(%rbx,%r8,8)', pre=['leaq 1f(%rip), %rax', 'movq %rax, 32(%rbx)'])
B(c, 'jmp *rl_jt(%rip)', pre=['leaq 1f(%rip), %rax', 'movq %rax, rl_jt(%rip)'])
B(c, 'notrack jmp *(%rbx,%r8,8)',
  pre=['leaq 1f(%rip), %rax', 'movq %rax, 24(%rbx)'])
B(c, 'jmp *(%rsp)', pre=['leaq 1f(%rip), %rax', 'pushq %rax'])
# -16: the snapshot before the site pushes the flags at -8.
B(c, 'jmp *-16(%rsp)', pre=['leaq 1f(%rip), %rax', 'movq %rax, -16(%rsp)'])
B(c, 'jmp *0x20000010', pre=['leaq 1f(%rip), %rax', 'movq %rax, 0x20000010'],
  low=True)
B(c, raw(0x41, 0xff, 0x23), pre=['movq %rbx, %r11', 'leaq 1f(%rip), %rax',
                                  'movq %rax, (%r11)'],
  name='jmp *(%r11) (41 ff 23)')
c = 'loop'
B(c, 'loop 1f', name='loop (taken)')
B(c, 'loop 1f', pre=['movl $1, %ecx'], name='loop (rcx 1: not taken)')
B(c, 'loop 1f', pre=['xorl %ecx, %ecx'], name='loop (rcx 0: taken, wraps)')
B(c, 'loope 1f', pre=flags(FL_B), name='loope (ZF: taken)')
B(c, 'loope 1f', pre=flags(FL_A), name='loope (no ZF: not taken)')
B(c, 'loopne 1f', pre=flags(FL_A), name='loopne (no ZF: taken)')
B(c, 'loopne 1f', pre=flags(FL_B), name='loopne (ZF: not taken)')
B(c, 'jrcxz 1f', name='jrcxz (rcx 5: not taken)')
B(c, 'jrcxz 1f', pre=['xorl %ecx, %ecx'], name='jrcxz (rcx 0: taken)')
B(c, 'jrcxz 1f', pre=['movabsq $0x100000000, %rcx'],
  name='jrcxz (rcx 1<<32: not taken)')
c = 'call'
F(c, 'call rl_callee', kind='branch', name='call rel32')
F(c, 'bnd call rl_callee', kind='branch')
F(c, 'call 1f', post=['1:', 'popq %rax'], kind='branch',
  name='call next; pop (get pc)')
F(c, 'call *%rax', pre=['leaq rl_callee(%rip), %rax'], kind='branch')
F(c, 'call *%r11', pre=['leaq rl_callee(%rip), %r11'], kind='branch')
F(c, 'notrack call *%rdx', pre=['leaq rl_callee(%rip), %rdx'], kind='branch')
F(c, 'call *(%rbx)', pre=['leaq rl_callee(%rip), %rax', 'movq %rax, (%rbx)'],
  kind='branch')
F(c, 'call *16(%rbx,%r8,8)',
  pre=['leaq rl_callee(%rip), %rax', 'movq %rax, 40(%rbx)'], kind='branch')
F(c, 'call *rl_jt(%rip)',
  pre=['leaq rl_callee(%rip), %rax', 'movq %rax, rl_jt(%rip)'], kind='branch')
F(c, 'call *(%rsp)', pre=['leaq rl_callee(%rip), %rax', 'pushq %rax'],
  kind='branch')
F(c, 'call *8(%rsp)',
  pre=['leaq rl_callee(%rip), %rax', 'pushq %rax', 'pushq $0'], kind='branch')
F(c, 'call *0x20000018', low=True,
  pre=['leaq rl_callee(%rip), %rax', 'movq %rax, 0x20000018'], kind='branch')
F(c, raw(0x41, 0xff, 0xd3), pre=['leaq rl_callee(%rip), %r11'], kind='branch',
  name='call *%r11 (41 ff d3)')
c = 'ret'
B(c, 'ret', pre=['leaq 1f(%rip), %rax', 'pushq %rax'])
B(c, 'ret $16', pre=['pushq $0x11', 'pushq $0x22', 'leaq 1f(%rip), %rax',
                     'pushq %rax'])
B(c, 'rep ret', pre=['leaq 1f(%rip), %rax', 'pushq %rax'])
B(c, 'bnd ret', pre=['leaq 1f(%rip), %rax', 'pushq %rax'])
B(c, 'ret $0', pre=['leaq 1f(%rip), %rax', 'pushq %rax'])
c = 'syscall'
F(c, 'syscall', pre=['movl $39, %eax'], name='syscall (getpid)')
F(c, 'syscall', pre=['movl $110, %eax'], name='syscall (getppid)')
F(c, 'syscall', pre=['movl $0x3fff, %eax'], name='syscall (ENOSYS)')
F(c, 'syscall', pre=['movl $39, %eax'] + flags(FL_A | 0x400),
  name='syscall (getpid, DF and arithmetic flags set)')

# ---------------------------------------------------------- faults
# The signal, its address and every register the program's handler sees
# must be those of the unprobed run.
c = 'fault'
F(c, 'divq %rcx', pre=['xorl %ecx, %ecx'], kind='fault', name='divq by zero')
F(c, 'idivl rl_data(%rip)', pre=['movl $0, rl_data(%rip)'], kind='fault',
  name='idivl rl_data(%rip) by zero')
F(c, 'movq (%rax), %rcx', pre=['movl $8, %eax'], kind='fault',
  name='movq (%rax), %rcx, rax = 8')
F(c, 'movq %rcx, 16(%rax)', pre=['movl $8, %eax'], kind='fault',
  name='store to 24')
F(c, 'movq (%rax), %rcx', pre=['movabsq $0x8000000000000000, %rax'],
  kind='fault', name='load from a non-canonical address')
F(c, 'movdqa rl_data+8(%rip), %xmm0', kind='fault',
  name='movdqa, misaligned')
F(c, 'cli', kind='fault')
F(c, 'inb $0x80, %al', kind='fault')
F(c, 'rdmsr', kind='fault')
F(c, 'wbinvd', kind='fault')
F(c, 'movq %cr0, %rax', kind='fault')
F(c, 'jmp *(%rax)', pre=['movl $8, %eax'], kind='fault',
  name='jmp *(%rax), rax = 8')
F(c, 'call *16(%rax)', pre=['movl $8, %eax'], kind='fault',
  name='call *16(%rax), rax = 8')
# The truncated address is unmapped in a plain process; under ASan its
# shadow may cover it.
F(c, 'addr32 movl rl_data(%eip), %eax', kind='fault', may_be_mapped=True,
  name='movl rl_data(%eip), %eax (67: eip-relative, truncated)')
F(c, 'ud1 %eax, %ecx', kind='fault', may_refuse='-EOPNOTSUPP')
# #UD in the slot: SIGILL, whose si_addr is the instruction's address.
# (rsm is #UD outside system-management mode, always.)
F(c, 'rsm', kind='fault', name='rsm (#UD: SIGILL)')

# ---------------------------------------------------------- refused
c = 'refused'
for t in ['int3', 'int $0x80', 'int1', 'ud2', 'hlt', 'iretq', 'iretl',
          'sysenter', 'sysexitl', 'sysretl', 'sysretq', 'ljmp *(%rax)', 'lcall *(%rax)',
          'lretl', 'lretl $8', 'lretq', 'xend', 'xabort $1', 'vmcall', 'vmmcall',
          'vmfunc', 'enclu', 'jecxz .', 'addr32 loop .', 'jmp *(%eax)',
          'call *(%eax)', 'jmp *%fs:(%rax)', 'call *%gs:0x10']:
    F(c, t, kind='refused')
F(c, 'xbegin .', kind='refused')
F(c, raw(0xce), kind='refused', name='into (ce: invalid in 64-bit mode)',
  err='-EOPNOTSUPP, -EILSEQ')
F(c, raw(0x0f, 0xff, 0xc0), kind='refused', name='ud0 %eax, %eax')
# Near branches with a 0x66 prefix: AMD CPUs (this one) honour it and
# truncate the target to 16 bits, Intel CPUs ignore it (and then 66 e9/e8/
# 0f 8x take a rel32, not the rel16 Capstone decodes). No emulation can be
# right on both: they must be refused.
F(c, raw(0x66, 0xff, 0xe0), kind='refused', name='jmpw *%ax (66 ff e0)')
F(c, raw(0x66, 0xff, 0xd0), kind='refused', name='callw *%ax (66 ff d0)')
F(c, raw(0x66, 0xff, 0x20), kind='refused', name='jmpw *(%rax) (66 ff 20)')
F(c, raw(0x66, 0xe9, 0, 0), kind='refused', name='jmpw rel16 (66 e9)')
F(c, raw(0x66, 0xe8, 0, 0), kind='refused', name='callw rel16 (66 e8)')
F(c, raw(0x66, 0xeb, 0), kind='refused', name='jmpw rel8 (66 eb)')
F(c, raw(0x66, 0x0f, 0x84, 0, 0), kind='refused', name='jzw rel16 (66 0f 84)')
F(c, raw(0x66, 0x74, 0), kind='refused', name='jzw rel8 (66 74)')
F(c, raw(0x66, 0xc3), kind='refused', name='retw (66 c3)')
F(c, raw(0x66, 0xc2, 8, 0), kind='refused', name='retw $8 (66 c2)')
F(c, raw(0x67, 0xe2, 0xfe), kind='refused', name='addr32 loop (67 e2)')
F(c, raw(0xff, 0x2c, 0x24), kind='refused', name='ljmp *(%rsp)')
F(c, raw(0x48, 0xcb), kind='refused', name='lretq (48 cb)')


def esc(s):
    return s.replace('\\', '\\\\').replace('"', '\\"')


def main(out_path):
    classes = []
    for f in forms:
        if f['cls'] not in classes:
            classes.append(f['cls'])
    o = []
    w = o.append
    w('/* SPDX-License-Identifier: LGPL-2.1-or-later */')
    w('/* Generated by gen_corpus.py: do not edit. */')
    w('#include <errno.h>')
    w('#include "reloc.h"')
    w('')
    w(PROLOGUE)
    for i, f in enumerate(forms):
        fn = 'rl_f_%d' % i
        w('/* %d: %s */' % (i, f['name'].replace('*/', '* /')))
        w('\t.p2align 4')
        w('\t.globl %s; .type %s, @function' % (fn, fn))
        w('%s:' % fn)
        if f['kind'] == 'refused':
            w('\tnop')
            w('.Lrl_site_%d:' % i)
            w('\t' + f['insn'])
            w('.Lrl_next_%d:' % i)
            w('\tret')
        else:
            w('\tRL_ENTER')
            for l in f['pre']:
                w('\t' + l)
            w('\tRL_SNAPSHOT')
            w('.Lrl_site_%d:' % i)
            w('\t' + f['insn'])
            w('.Lrl_next_%d:' % i)
            for l in f['post']:
                w(('\t' + l) if not l.endswith(':') else l)
            w('\tRL_LEAVE')
        w('\t.size %s, . - %s' % (fn, fn))
        w('')
    w('\t.section .rodata.str1.1, "aMS", @progbits, 1')
    for i, f in enumerate(forms):
        w('.Lrl_name_%d: .asciz "%s"' % (i, esc(f['name'])))
    for j, cl in enumerate(classes):
        w('.Lrl_class_%d: .asciz "%s"' % (j, cl))
    w('')
    w('\t.section .data.rel.ro, "aw"')
    w('\t.balign 8')
    w('\t.globl rl_forms; .type rl_forms, @object')
    w('rl_forms:')
    for i, f in enumerate(forms):
        flags_ = []
        if f['post']:
            flags_.append('RL_F_POST')
        if f['low']:
            flags_.append('RL_F_LOW')
        if f['may_refuse'] is not None:
            flags_.append('RL_F_MAY_REFUSE')
        if f['may_be_mapped']:
            flags_.append('RL_F_MAY_BE_MAPPED')
        req = '|'.join(REQ[r] for r in f['req']) or '0'
        ign = []
        for r in f['ignore']:
            ign.append('RL_IGN_FLAGS' if r == 'flags' else '(1<<%d)' % GPRS.index(r))
        errs = [e.strip() for e in f['err'].split(',')]
        err2 = errs[1] if len(errs) > 1 else errs[0]
        w('\t.quad rl_f_%d, .Lrl_site_%d, .Lrl_next_%d, .Lrl_name_%d, .Lrl_class_%d'
          % (i, i, i, i, classes.index(f['cls'])))
        w('\t.short %s, %s' % (KINDS[f['kind']], '|'.join(flags_) or '0'))
        w('\t.long %s' % req)
        w('\t.short (%s), (%s)' % (errs[0], err2))
        w('\t.long %s' % ('|'.join(ign) or '0'))
    w('\t.size rl_forms, . - rl_forms')
    w('\t.globl rl_nforms; .type rl_nforms, @object')
    w('rl_nforms: .long %d' % len(forms))
    w('\t.size rl_nforms, 4')
    w('\t.section .note.GNU-stack, "", @progbits')
    with open(out_path, 'w') as fp:
        fp.write('\n'.join(o) + '\n')


PROLOGUE = r'''
/* Host state saved across a form; the form's own state block. */
	.bss
	.balign 8
rl_host_rsp:	.quad 0
rl_cur:		.quad 0
rl_tmp:		.quad 0
rl_host_mxcsr:	.long 0
rl_host_fcw:	.short 0
	.short 0

	.data
	.balign 64
/* The registers at the site, unprobed or probed: the pre_handler must see
 * exactly these. Same layout as the GPR and flags part of rl_state. */
	.globl rl_presite
rl_presite:	.fill 17, 8, 0
	.size rl_presite, . - rl_presite

/* The arena: everything a form may write (reloc.h gives the layout). */
	.balign 4096
	.globl rl_arena, rl_data, rl_marker, rl_marker2, rl_jt, rl_mem, rl_stack
rl_arena:
	.fill RL_DATA_OFF, 1, 0
rl_data:
	.fill RL_DATA_SIZE, 1, 0
	.fill RL_MARKER_OFF - RL_DATA_OFF - RL_DATA_SIZE, 1, 0
rl_marker:	.quad 0
rl_marker2:	.quad 0
rl_jt:		.quad 0
	.fill RL_MEM_OFF - RL_JT_OFF - 8, 1, 0
rl_mem:
	.fill RL_MEM_SIZE, 1, 0
rl_stack:
	.fill RL_STACK_SIZE, 1, 0
	.size rl_arena, . - rl_arena

	.text

/* rdi = struct rl_state *. Callee-saved registers and rsp go to the host
 * stack; then everything comes from the block, rdi last. */
.macro RL_ENTER
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, rl_host_rsp(%rip)
	movq	%rdi, rl_cur(%rip)
	stmxcsr	rl_host_mxcsr(%rip)
	fnstcw	rl_host_fcw(%rip)
	fninit
	fldcw	RL_FCW(%rdi)
	ldmxcsr	RL_MXCSR(%rdi)
	vmovdqu	RL_YMM(0)(%rdi), %ymm0
	vmovdqu	RL_YMM(1)(%rdi), %ymm1
	vmovdqu	RL_YMM(2)(%rdi), %ymm2
	vmovdqu	RL_YMM(3)(%rdi), %ymm3
	vmovdqu	RL_YMM(4)(%rdi), %ymm8
	vmovdqu	RL_YMM(5)(%rdi), %ymm9
	movq	RL_RSP(%rdi), %rsp
	pushq	RL_FLAGS(%rdi)
	popfq
	movq	RL_GPR(0)(%rdi), %rax
	movq	RL_GPR(1)(%rdi), %rcx
	movq	RL_GPR(2)(%rdi), %rdx
	movq	RL_GPR(3)(%rdi), %rbx
	movq	RL_GPR(5)(%rdi), %rbp
	movq	RL_GPR(6)(%rdi), %rsi
	movq	RL_GPR(8)(%rdi), %r8
	movq	RL_GPR(9)(%rdi), %r9
	movq	RL_GPR(10)(%rdi), %r10
	movq	RL_GPR(11)(%rdi), %r11
	movq	RL_GPR(12)(%rdi), %r12
	movq	RL_GPR(13)(%rdi), %r13
	movq	RL_GPR(14)(%rdi), %r14
	movq	RL_GPR(15)(%rdi), %r15
	movq	RL_GPR(7)(%rdi), %rdi
.endm

/* The registers just before the site, without changing any. */
.macro RL_SNAPSHOT
	movq	%rax, rl_presite+RL_GPR(0)(%rip)
	movq	%rcx, rl_presite+RL_GPR(1)(%rip)
	movq	%rdx, rl_presite+RL_GPR(2)(%rip)
	movq	%rbx, rl_presite+RL_GPR(3)(%rip)
	movq	%rsp, rl_presite+RL_GPR(4)(%rip)
	movq	%rbp, rl_presite+RL_GPR(5)(%rip)
	movq	%rsi, rl_presite+RL_GPR(6)(%rip)
	movq	%rdi, rl_presite+RL_GPR(7)(%rip)
	movq	%r8, rl_presite+RL_GPR(8)(%rip)
	movq	%r9, rl_presite+RL_GPR(9)(%rip)
	movq	%r10, rl_presite+RL_GPR(10)(%rip)
	movq	%r11, rl_presite+RL_GPR(11)(%rip)
	movq	%r12, rl_presite+RL_GPR(12)(%rip)
	movq	%r13, rl_presite+RL_GPR(13)(%rip)
	movq	%r14, rl_presite+RL_GPR(14)(%rip)
	movq	%r15, rl_presite+RL_GPR(15)(%rip)
	pushfq
	popq	rl_presite+RL_FLAGS(%rip)
.endm

/* Everything back into the block; the flags first, before anything can
 * change them; then rl_exit. */
.macro RL_LEAVE
	pushfq
	movq	%rax, rl_tmp(%rip)
	movq	rl_cur(%rip), %rax
	movq	%rcx, RL_GPR(1)(%rax)
	movq	%rdx, RL_GPR(2)(%rax)
	movq	%rbx, RL_GPR(3)(%rax)
	movq	%rbp, RL_GPR(5)(%rax)
	movq	%rsi, RL_GPR(6)(%rax)
	movq	%rdi, RL_GPR(7)(%rax)
	movq	%r8, RL_GPR(8)(%rax)
	movq	%r9, RL_GPR(9)(%rax)
	movq	%r10, RL_GPR(10)(%rax)
	movq	%r11, RL_GPR(11)(%rax)
	movq	%r12, RL_GPR(12)(%rax)
	movq	%r13, RL_GPR(13)(%rax)
	movq	%r14, RL_GPR(14)(%rax)
	movq	%r15, RL_GPR(15)(%rax)
	movq	rl_tmp(%rip), %rcx
	movq	%rcx, RL_GPR(0)(%rax)
	popq	RL_FLAGS(%rax)
	movq	%rsp, RL_RSP(%rax)
	vmovdqu	%ymm0, RL_YMM(0)(%rax)
	vmovdqu	%ymm1, RL_YMM(1)(%rax)
	vmovdqu	%ymm2, RL_YMM(2)(%rax)
	vmovdqu	%ymm3, RL_YMM(3)(%rax)
	vmovdqu	%ymm8, RL_YMM(4)(%rax)
	vmovdqu	%ymm9, RL_YMM(5)(%rax)
	stmxcsr	RL_MXCSR(%rax)
	fnstcw	RL_FCW(%rax)
	fnstsw	RL_FSW(%rax)
	jmp	rl_exit
.endm

/* The end of every form, and where a run that raised a signal goes on (the
 * driver's handler sends it here): the host's stack, MXCSR, x87 control
 * word and DF back, return to the caller of the form's function. */
	.p2align 4
	.globl rl_exit; .type rl_exit, @function
rl_exit:
	movq	rl_host_rsp(%rip), %rsp
	fninit
	fldcw	rl_host_fcw(%rip)
	ldmxcsr	rl_host_mxcsr(%rip)
	vzeroupper
	cld
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size rl_exit, . - rl_exit

/* The callee of the call forms: leaves a mark, changes nothing else. */
	.p2align 4
	.globl rl_callee; .type rl_callee, @function
rl_callee:
	movq	$0xca11, rl_marker2(%rip)
	ret
	.size rl_callee, . - rl_callee
'''

if __name__ == '__main__':
    main(sys.argv[1])
