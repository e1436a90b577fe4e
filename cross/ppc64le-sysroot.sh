#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prepare cross/sysroot-ppc64le: the ppc64el builds of libkprobe's
# dependencies, unpacked (not installed) from Debian 12's own packages, for
# the cross build described by cross/ppc64le.ini, and sysroot.ini in it,
# which tells that file where the sysroot is. Run as root on Debian 12.
#
# Installing LIB:ppc64el with apt conflicts with the amd64 -dev packages on
# the build machine, so the packages are only downloaded (with the foreign
# architecture configured for as long as that takes) and unpacked with
# dpkg -x. Idempotent: a complete sysroot is left as it is.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD/sysroot-ppc64le
stamp=$root/.complete
[ -e "$stamp" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu \
	qemu-user >/dev/null

pkgs='libcapstone-dev libcapstone4 libelf-dev libelf1 zlib1g zlib1g-dev
      libunwind-dev libunwind8 liblzma5 liblzma-dev libcmocka-dev libcmocka0'
debs=$(mktemp -d)
chmod 755 "$debs"	# apt-get download runs as _apt
trap 'dpkg --remove-architecture ppc64el 2>/dev/null || true
      apt-get update -q >/dev/null 2>&1 || true; rm -rf "$debs"' EXIT

dpkg --add-architecture ppc64el
# A ppc64el security index can fail with a size mismatch: tolerate it.
apt-get update -q >/dev/null 2>&1 || true
(cd "$debs" && apt-get download -q $(for p in $pkgs; do echo "$p:ppc64el"; done))
dpkg --remove-architecture ppc64el
apt-get update -q >/dev/null 2>&1 || true

rm -rf "$root"
mkdir -p "$root"
for d in "$debs"/*.deb; do
	dpkg -x "$d" "$root"
done
# Absolute .so links (libz.so, liblzma.so) point into the build machine's
# own /lib: re-point them inside the sysroot.
find "$root" -type l | while read -r l; do
	t=$(readlink "$l")
	case $t in
	/*) ln -sf "$root$t" "$l" ;;
	esac
done
# Where the sysroot is, for cross/ppc64le.ini (given before it).
printf "[constants]\nsysroot = '%s'\n" "$root" >"$root/sysroot.ini"
touch "$stamp"
echo "ppc64le sysroot ready in $root"
