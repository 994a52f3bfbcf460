#!/bin/sh
# Makes .toolchains/<triple>-linux-musl-gcc, a C compiler for musl on another architecture
# (default arm64; x64 on an arm64 machine): Debian's cross gcc (gcc-aarch64-linux-gnu or
# gcc-x86-64-linux-gnu) driven against musl's headers and libc for that architecture, unpacked
# from Debian's musl-dev and musl packages. Nothing is installed into the system: apt reads its
# package lists into .toolchains/apt, and the two .debs are unpacked under .toolchains/.
# usage: scripts/musl-cross-toolchain.sh [arm64|x64]     (scripts/prebuild.js then uses it)
set -eu
cd "$(dirname "$0")/.."
arch=${1:-arm64}
case $arch in
  arm64) deb_arch=arm64 triple=aarch64 ;;
  x64) deb_arch=amd64 triple=x86_64 ;;
  *) echo "musl-cross-toolchain: unknown architecture \"$arch\": use arm64 or x64" >&2; exit 2 ;;
esac
gcc="$triple-linux-gnu-gcc"
if ! command -v "$gcc" >/dev/null 2>&1; then
  echo "musl-cross-toolchain: $gcc is missing: apt-get install gcc-$(echo "$triple" | tr _ -)-linux-gnu" >&2
  exit 1
fi

out="$PWD/.toolchains"
sysroot="$out/musl-$arch"
apt_dir="$out/apt"
rm -rf "$sysroot" "$apt_dir"
mkdir -p "$sysroot" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
# The foreign architecture's package lists only, in a folder of our own: the machine's apt
# state (and its dpkg architectures) stay as they are.
apt_options="-o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o APT::Architecture=$deb_arch
  -o APT::Architectures::=$deb_arch -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get update -qq $apt_options
# shellcheck disable=SC2086
(cd "$apt_dir/debs" && apt-get download -qq $apt_options "musl-dev:$deb_arch" "musl:$deb_arch")
for deb in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done

# musl-dev's specs file, pointed into the sysroot. The folder holding libc.so (from the musl
# package) must come before the one holding libc.a: in the other order ld links libc statically
# and the addon could no longer use the process's own libc.
lib="$sysroot/usr/lib/$triple-linux-musl"
sed -e "s#/usr/include/$triple-linux-musl#$sysroot/usr/include/$triple-linux-musl#g" \
    -e "s#-L/usr/lib/$triple-linux-musl#-L$sysroot/lib/$triple-linux-musl -L$lib#" \
    -e "s#/usr/lib/$triple-linux-musl/#$lib/#g" \
    "$lib/musl-gcc.specs" > "$out/$triple-linux-musl.specs"
printf '#!/bin/sh\nexec %s "$@" -specs "%s"\n' "$gcc" "$out/$triple-linux-musl.specs" > "$out/$triple-linux-musl-gcc"
chmod +x "$out/$triple-linux-musl-gcc"
rm -rf "$apt_dir"
echo "$out/$triple-linux-musl-gcc"
