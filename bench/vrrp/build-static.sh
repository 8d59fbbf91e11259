#!/bin/sh
# Builds clusterup-vrrpd for nodes that have nothing but glibc: static Swift standard library,
# static libstdc++ (which the Swift runtime needs) and libgcc, stripped. libssl is not linked:
# https checks dlopen libssl.so.3 at run time. Prints the size and the dynamic dependencies.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p .build/static-cxx
# A directory holding only the static libstdc++, searched first, makes -lstdc++ resolve to it.
ln -sf "$(g++ -print-file-name=libstdc++.a 2>/dev/null || ls /usr/lib/gcc/x86_64-linux-gnu/*/libstdc++.a | tail -1)" \
    .build/static-cxx/libstdc++.a
swift build -c release --product clusterup-vrrpd --static-swift-stdlib \
    -Xlinker -L"$PWD/.build/static-cxx" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc
mkdir -p .build/dist
strip -o .build/dist/clusterup-vrrpd .build/release/clusterup-vrrpd
ls -l .build/dist/clusterup-vrrpd
ldd .build/dist/clusterup-vrrpd
