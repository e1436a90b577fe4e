#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Regenerates the fuzzers' seed corpora in tests/fuzz/corpus/ (they are
# kept in git; run this only to change them):
#   x86/  one file per line below: real instructions (most taken from
#         Debian 12's libc), the first bytes of a few libc functions, and
#         hand-written edge cases;
#   elf/  tiny ELF files built here with gcc and binutils: a shared object
#         with local, versioned and IFUNC functions (and a stripped copy),
#         a static executable, an ELF32 executable and a relocatable object.
# Needs gcc and binutils (as, ld, strip). Usage: bash make-seeds.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
x86=$here/corpus/x86
elf=$here/corpus/elf
rm -rf "$x86" "$elf"
mkdir -p "$x86" "$elf"

# name, bytes (hex), then what they are.
while read -r name hex _; do
	printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')" >"$x86/$name"
done <<'LIST'
	addr32                 678d51ff                           # lea -0x1(%ecx),%edx
	addr32-rexw-call       6748e800010000                     # addr32 rex.W call .+0x107 (Capstone: rel16)
	addr32-rexw-jmp        6748e900010000                     # addr32 rex.W jmp .+0x107 (Capstone: 16 bits)
	addr32-rip-mov         678b0500010000                     # mov 0x100(%eip),%eax: addr32 RIP-relative
	bnd-jmp-rel32          f2e900010000                       # bnd jmp 0x106
	call-ind-rip           ff1500100000                       # call *0x1000(%rip) # 0x1006
	call-reg               ffd0                               # call *%rax
	call-rel32             e819000000                         # call 0x1e
	call-sib-disp          ff54d808                           # call *0x8(%rax,%rbx,8)
	cmov                   480f44f8                           # cmove %rax,%rdi
	cmpb-imm-rip           803d60ae1b0000                     # cmpb $0x0,0x1bae60(%rip) # 0x1bae67
	cpuid                  0fa2                               # cpuid
	cs-nopw                662e0f1f840000000000               # cs nopw 0x0(%rax,%rax,1)
	endbr64                f30f1efa                           # endbr64
	evex-zmm               62f17fc96f0f                       # vmovdqu8 (%rdi),%zmm1{%k1}{z}
	fn-libc_start_main     41574989cf4156415541545589f5534889d34883ec1848893c244d85c9740c4c89cf31d231f6e8856c0100488b05e6bb1a00 # first instructions of glibc's libc_start_main
	fn-memcpy              4889f84883fa100f82a30000000f10064883fa200f87030100000f104c16f00f11070f114c17f0c30f1f840000000000 # first instructions of glibc's memcpy
	fn-qsort               4531c0e9a8fcffff0f1f8400000000004883ec18488d350557190064488b042528000000488944240831c04889e2e82d000000 # first instructions of glibc's qsort
	fn-setjmp              be01000000e966ffffff660f1f44000031f6e959ffffff660f1f840000000000554889fd5389f34883ec08e8d0000000 # first instructions of glibc's setjmp
	fn-strlen              488b05d13c1300488d1582ab00008b88b800000089ce81e62801000081fe28010000740c4889d0c30f1f840000000000 # first instructions of glibc's strlen
	fn-syscall             4889f84889f74889d64889ca4d89c24d89c84c8b4c24080f05483d01f0ffff7301c3488b0da7150d00f7d86489014883c8ff # first instructions of glibc's syscall
	fs-load                64488b042528000000                 # mov %fs:0x28,%rax
	hlt                    f4                                 # hlt
	imm-rip-prefixed       66833d53cc0b0000                   # cmpw $0x0,0xbcc53(%rip) # 0xbcc5b
	imul-imm               4269742854e01f0000                 # imul $0x1fe0,0x54(%rax,%r13,1),%esi
	int-0x80               cd80                               # int $0x80
	int3                   cc                                 # int3
	jcc-rel32              0f85de000000                       # jne 0xe4
	jcc-rel8               741e                               # je 0x20
	jecxz-addr32           67e302                             # jecxz 0x5
	jmp-ind-rip            ff25eccf1a00                       # jmp *0x1acfec(%rip) # 0x1acff2
	jmp-r11                41ffe3                             # jmp *%r11
	jmp-reg                ffe0                               # jmp *%rax
	jmp-rel16-opsize       66e90001                           # jmpw 0x104
	jmp-rel32              e9e0ffffff                         # jmp 0xffffffffffffffe5
	jmp-rel8               eb05                               # jmp 0x7
	jmp-rip-fs             64ff2500000000                     # jmp *%fs:0x0(%rip) # 0x7
	jmp-sib                ff24c2                             # jmp *(%rdx,%rax,8)
	lea-rip                488d1dc8ea1a00                     # lea 0x1aeac8(%rip),%rbx # 0x1aeacf
	lea-rip-neg            488d05f0ffffff                     # lea -0x10(%rip),%rax # 0xfffffffffffffff7
	lock-cmpxchg           f00fb1158fea1a00                   # lock cmpxchg %edx,0x1aea8f(%rip) # 0x1aea97
	loop-jrcxz             e3a9                               # jrcxz 0xffffffffffffffab
	loop-opsize            66e2fe                             # data16 loop .
	loop-self              e2fe                               # loop 0x0
	loopne                 e0fe                               # loopne 0x0
	mov-rip-imm32          48c705f8ffffff78563412             # movq $0x12345678,-0x8(%rip) # 0x3
	mov-rip-load           488b0551bd1a00                     # mov 0x1abd51(%rip),%rax # 0x1abd58
	mov-rsp-rbp            4889e5                             # mov %rsp,%rbp
	movabs                 49bbf8bffffffffff7ff               # movabs $0xfff7ffffffffbff8,%r11
	movabs-moffs           48a1efcdab8967452301               # movabs 0x123456789abcdef,%rax
	movl-imm-rip           c70565ea1a0001000000               # movl $0x1,0x1aea65(%rip) # 0x1aea6f
	movzbl-rip-dispmin     0fb60d00000080                     # movzbl -0x80000000(%rip),%ecx # 0xffffffff80000007
	nopl                   0f1f4000                           # nopl 0x0(%rax)
	notrack-jmp            3effe0                             # notrack jmp *%rax
	pcmpistri              660f3a63c11a                       # pcmpistri $0x1a,%xmm1,%xmm0
	prefixes-15            6666666666662e0f1f840000000000     # data16 x6 cs nopw 0x0(%rax,%rax,1): 15 bytes
	prefixes-overlong      6666666666666666666666662e0f1f00   # data16 data16 data16 data16 data16 data16 data16 data16 data16 data16 data16 cs (bad)
	push-rbp               55                                 # push %rbp
	pxor                   660fefc0                           # pxor %xmm0,%xmm0
	rdfsbase               f3480faec0                         # rdfsbase %rax
	rdtsc                  0f31                               # rdtsc
	rep-movsb              f3a4                               # rep movsb %ds:(%rsi),%es:(%rdi)
	rep-stos               f3ab                               # rep stos %eax,%es:(%rdi)
	ret                    c3                                 # ret
	ret-imm16              c21000                             # ret $0x10
	rex-w-push             4855                               # rex.W push %rbp
	sse-rip                660f6f0554211700                   # movdqa 0x172154(%rip),%xmm0 # 0x17215c
	sub-rsp-imm32          4881eca8000000                     # sub $0xa8,%rsp
	syscall                0f05                               # syscall
	tzcnt                  f3480fbcc9                         # tzcnt %rcx,%rcx
	ud2                    0f0b                               # ud2
	vex-rip                c57d6f1529d40400                   # vmovdqa 0x4d429(%rip),%ymm10 # 0x4d431
	vmovdqu-ymm            c5fe6f0e                           # vmovdqu (%rsi),%ymm1
	vpcmpeqb-ymm           c5fd740f                           # vpcmpeqb (%rdi),%ymm0,%ymm1
	vpgatherdd-vsib        c4e2759004a0                       # vpgatherdd %ymm1,(%rax,%ymm4,4),%ymm0
	vzeroupper             c5f877                             # vzeroupper
	x87                    db6c2418                           # fldt 0x18(%rsp)
	xabort                 c6f8ff                             # xabort $0xff
	xbegin                 c7f800000000                       # xbegin 0x6
	xchg                   6690                               # xchg %ax,%ax
	xend                   0f01d5                             # xend
	xgetbv                 0f01d0                             # xgetbv
LIST

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# Small files: no page-sized padding, no build id.
small='-Wl,-z,noseparate-code -Wl,-z,max-page-size=0x10 -Wl,--build-id=none'

cat >lib.c <<'SRC'
int seed_exported(int x) { return x + 1; }
static int __attribute__((noinline, used)) seed_local(int x) { return x * 3; }
int seed_v1(int x) { return x - 1; }
int seed_v2(int x) { return x - 2; }
__asm__(".symver seed_v1, seed_ver@V1");
__asm__(".symver seed_v2, seed_ver@@V2");
static int seed_impl(int x) { return seed_local(x); }
static int (*seed_resolver(void))(int) { return seed_impl; }
int seed_ifunc(int) __attribute__((ifunc("seed_resolver")));
int seed_data = 1;
SRC
cat >lib.map <<'SRC'
V1 { global: seed_exported; seed_ver; seed_ifunc; local: *; };
V2 { global: seed_ver; } V1;
SRC
# shellcheck disable=SC2086 # $small is a word list
gcc -O1 -fPIC -shared -nostdlib -Wl,--version-script=lib.map $small \
	-o "$elf/versioned.so" lib.c
strip -o "$elf/versioned-stripped.so" "$elf/versioned.so"
gcc -O1 -fPIC -c -o "$elf/relocatable.o" lib.c

cat >exe.c <<'SRC'
static int __attribute__((noinline, used)) helper(int x) { return x ^ 5; }
void _start(void)
{
	__asm__ volatile("mov $60, %%eax; syscall" :: "D"(helper(0)) : "rax");
}
SRC
# shellcheck disable=SC2086
gcc -O1 -nostdlib -static -no-pie -fno-asynchronous-unwind-tables $small \
	-o "$elf/static-exe" exe.c

cat >elf32.s <<'SRC'
	.text
	.globl _start
	.type _start, @function
_start:	call f32
	movl $1, %eax
	int $0x80
	.size _start, .-_start
	.type f32, @function
f32:	ret
	.size f32, .-f32
SRC
as --32 -o elf32.o elf32.s
ld -m elf_i386 -z noseparate-code -z max-page-size=0x10 --build-id=none \
	-o "$elf/elf32-exe" elf32.o
ls -l "$x86" "$elf" | awk 'NR > 1 { n++; s += $5 } END { print n, "files,", s, "bytes" }'
