# cfm on Debian 12: the same packages and build as scripts/setup.sh + scripts/build.sh.
# CPU LibTorch by default (Debian's libtorch-dev). For GPU workers, build with a CUDA LibTorch:
#   docker build --build-arg TORCH_PREFIX=/opt/libtorch --build-arg CUDA=ON ...  (with LibTorch copied in)
FROM debian:12
ARG TORCH_PREFIX=""
ARG CUDA=OFF
COPY . /src
WORKDIR /src
RUN ./scripts/setup.sh && rm -rf /var/lib/apt/lists/* \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCFM_BUILD_TESTS=OFF -DCFM_BUILD_BENCHMARKS=OFF \
      -DCFM_WITH_CUDA=${CUDA} ${TORCH_PREFIX:+-DCMAKE_PREFIX_PATH=${TORCH_PREFIX}} \
 && cmake --build /build --target cfm && install -m 755 /build/cli/cfm /usr/local/bin/cfm
WORKDIR /runs
CMD ["cfm", "--help"]
