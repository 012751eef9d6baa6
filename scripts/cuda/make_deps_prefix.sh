#!/usr/bin/env bash
# Makes a dependency prefix for building tagclip on a machine that has a CUDA LibTorch
# (say a pip `torch`) but none of tagclip's other libraries and no network: everything
# comes from Debian 12's archive, so run this on a Debian 12 machine with apt access.
#   - OpenCV 4.6 (core, imgproc, imgcodecs with JPEG and PNG), built from Debian's source
#     package as static libraries, with Debian's static libjpeg, libpng and zlib beside it:
#     Debian's own OpenCV pulls in GDAL, Qt, FFmpeg and ~280 other shared libraries.
#   - CLI11, nlohmann_json, spdlog + fmt, ICU 72, tinyxml2, GoogleTest: Debian's packages,
#     unpacked (headers, libraries, CMake files).
# The shared libraries are bookworm's (glibc 2.36), so they load on any newer glibc.
#
# Usage: scripts/cuda/make_deps_prefix.sh [OUT_DIR]   (default .cudadeps; ~10 min on 2 cores)
# Writes OUT_DIR/prefix and OUT_DIR/deps.tar.xz; then, on the CUDA machine:
#   scripts/setup_cuda.sh --deps OUT_DIR/deps.tar.xz
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mkdir -p "${1:-.cudadeps}" && cd "${1:-.cudadeps}" && pwd)
work=${TMPDIR:-/tmp}/tagclip-deps-work
prefix=$out/prefix
arch=x86_64-linux-gnu
rm -rf "$work" "$prefix"
mkdir -p "$work/debs" "$work/src/lists/partial" "$prefix"

packages=(libcli11-dev nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
          libicu-dev libicu72 libtinyxml2-dev libtinyxml2-9 libgtest-dev libgmock-dev
          zlib1g-dev libjpeg62-turbo-dev libpng-dev)
(cd "$work/debs" && apt-get download "${packages[@]}")
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
cp -a "$work/root/usr/." "$prefix/"
rm -rf "$prefix/share/doc" "$prefix/share/man" "$prefix/share/lintian" "$prefix/bin"
# ICU's static archives are 40 MB and unused; zlib's shared library is the system's own
# (every machine has libz.so.1), so link zlib statically instead of needing its symlink.
# libjpeg and libpng are linked statically too (their .so links would dangle here), and
# GoogleTest's sources are not needed beside its built libraries.
rm -f "$prefix"/lib/$arch/libicu*.a "$prefix"/lib/$arch/libz.so "$prefix"/lib/$arch/libjpeg.so \
  "$prefix"/lib/$arch/libpng*.so
rm -rf "$prefix/src"

# OpenCV from Debian's source package (the +dfsg tarball, without 3rdparty/).
src_list=$work/src/sources.list
echo "deb-src http://deb.debian.org/debian bookworm main" >"$src_list"
apt_src=(-oDir::State::Lists="$work/src/lists" -oDir::Etc::SourceList="$src_list"
         -oDir::Etc::SourceParts=/nonexistent)
apt-get "${apt_src[@]}" update -qq
(cd "$work/src" && apt-get "${apt_src[@]}" source --download-only opencv=4.6.0+dfsg-12 &&
  tar -xJf opencv_4.6.0+dfsg.orig.tar.xz)
lib=$prefix/lib/$arch
cmake -S "$work/src/opencv-4.6.0" -B "$work/opencv-build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib/$arch \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_LIST=core,imgproc,imgcodecs \
  -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_opencv_apps=OFF \
  -DBUILD_JAVA=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_python2=OFF -DBUILD_DOCS=OFF \
  -DBUILD_ZLIB=OFF -DBUILD_JPEG=OFF -DBUILD_PNG=OFF -DWITH_JPEG=ON -DWITH_PNG=ON \
  -DZLIB_INCLUDE_DIR="$prefix/include" -DZLIB_LIBRARY="$lib/libz.a" \
  -DJPEG_INCLUDE_DIR="$prefix/include" -DJPEG_LIBRARY="$lib/libjpeg.a" \
  -DPNG_PNG_INCLUDE_DIR="$prefix/include" -DPNG_LIBRARY="$lib/libpng16.a" \
  -DWITH_TIFF=OFF -DWITH_WEBP=OFF -DWITH_OPENEXR=OFF -DWITH_JASPER=OFF -DWITH_OPENJPEG=OFF \
  -DWITH_IMGCODEC_HDR=OFF -DWITH_IMGCODEC_SUNRASTER=OFF -DWITH_IMGCODEC_PXM=OFF \
  -DWITH_IMGCODEC_PFM=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF -DWITH_IPP=OFF -DWITH_ITT=OFF \
  -DWITH_OPENCL=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_LAPACK=OFF -DWITH_EIGEN=OFF \
  -DWITH_PROTOBUF=OFF -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_GTK=OFF \
  -DWITH_QT=OFF -DWITH_VTK=OFF -DWITH_CUDA=OFF -DWITH_ADE=OFF -DWITH_QUIRC=OFF \
  -DOPENCV_GENERATE_PKGCONFIG=OFF -DOPENCV_ENABLE_NONFREE=OFF >"$work/opencv-configure.log"
cmake --build "$work/opencv-build" -j"$(nproc)" >"$work/opencv-build.log"
cmake --install "$work/opencv-build" >/dev/null
rm -rf "$prefix/share/licenses" "$prefix/share/opencv4/haarcascades" "$prefix/share/opencv4/lbpcascades"

# CMake files must point into the prefix wherever it is unpacked: absolute paths to this
# prefix, or to Debian's /usr, become paths relative to the prefix's root.
{ grep -rlE --include='*.cmake' "$prefix|/usr/(lib|include)/" "$prefix/lib/$arch/cmake" "$prefix/share" || true; } |
  while read -r file; do
    sed -i -e "s#$prefix#\${_TAGCLIP_DEPS_PREFIX}#g" -e "s#/usr/lib/$arch#\${_TAGCLIP_DEPS_PREFIX}/lib/$arch#g" \
      -e "s#/usr/include#\${_TAGCLIP_DEPS_PREFIX}/include#g" "$file"
    # The prefix's root, from this file's own place: <prefix>/lib/<arch>/cmake/<pkg>/ or
    # <prefix>/share/<...>.
    rel=$(realpath --relative-to="$(dirname "$file")" "$prefix")
    sed -i "1i get_filename_component(_TAGCLIP_DEPS_PREFIX \"\${CMAKE_CURRENT_LIST_DIR}/$rel\" ABSOLUTE)" "$file"
  done
# Symbolic links inside the prefix must be relative to survive the move.
find "$prefix" -type l | while read -r link; do
  target=$(readlink "$link")
  if [[ $target == /* ]]; then
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$prefix${target#/usr}")" "$link"
  fi
done
{
  echo "tagclip dependency prefix, made $(date -u +%F) by scripts/cuda/make_deps_prefix.sh"
  echo "Debian 12 packages:"
  for deb in "$work"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done
  echo "OpenCV 4.6.0+dfsg-12 (Debian source), static: core imgproc imgcodecs (JPEG, PNG)"
} >"$prefix/README.txt"
tar -cJf "$out/deps.tar.xz" -C "$out" prefix
echo "make_deps_prefix: $out/deps.tar.xz ($(du -h "$out/deps.tar.xz" | cut -f1))"
