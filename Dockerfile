# cfm images, two targets (docs/cluster.md, "Docker"):
#   docker build --target cpu -t cfm:cpu .   Debian 12 and its LibTorch: the coordinator, CPU workers
#   docker build --target gpu -t cfm:gpu .   Debian 13 with Debian's CUDA LibTorch 2.6, CUDA 12 and NCCL
#                                            (what scripts/portability/check.sh builds): GPU workers, run
#                                            with the NVIDIA container toolkit
# Each target is a build stage (compilers, -dev packages: scripts/setup.sh --build-only, installed before
# the sources are copied, so an edit of the sources rebuilds cfm only) and a runtime stage holding the
# program, the packages of the libraries it links (scripts/docker/runtime_packages.sh) and a user `cfm`
# (uid CFM_UID, default 1000: give the uid that owns the token file, which cfm wants readable by its owner
# only). The gpu target's LibTorch depends on Debian's nvidia-cudnn, which downloads cuDNN from NVIDIA
# while it installs and accepts NVIDIA's cuDNN license for you (its debconf default): read that license.
# Stages in the order a target needs them (the classic builder builds every stage before the target).
ARG CFM_UID=1000
ARG CUDA_ARCHITECTURES=90

FROM debian:12 AS cpu-build
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/setup.sh /tmp/setup.sh
RUN /tmp/setup.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCFM_BUILD_TESTS=OFF -DCFM_BUILD_BENCHMARKS=OFF \
 && cmake --build /build --target cfm \
 && /src/scripts/docker/runtime_packages.sh /build/cli/cfm > /build/runtime-packages

FROM debian:12-slim AS cpu
ARG CFM_UID
COPY --from=cpu-build /build/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas0-pthread \
      $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --create-home --uid ${CFM_UID} cfm && mkdir /runs && chown cfm:cfm /runs
COPY --from=cpu-build /build/cli/cfm /usr/local/bin/cfm
USER cfm
WORKDIR /runs
CMD ["cfm", "--help"]

FROM debian:13 AS gpu-build
ARG CUDA_ARCHITECTURES
ENV DEBIAN_FRONTEND=noninteractive
RUN sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' \
      /etc/apt/sources.list.d/debian.sources
COPY scripts/setup.sh /tmp/setup.sh
RUN /tmp/setup.sh --build-only --cuda && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCFM_BUILD_TESTS=OFF -DCFM_BUILD_BENCHMARKS=OFF \
      -DCFM_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES} \
 && cmake --build /build --target cfm \
 && /src/scripts/docker/runtime_packages.sh /build/cli/cfm > /build/runtime-packages

FROM debian:13-slim AS gpu
ARG CFM_UID
RUN sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' \
      /etc/apt/sources.list.d/debian.sources
COPY --from=gpu-build /build/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas0-pthread \
      $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --create-home --uid ${CFM_UID} cfm && mkdir /runs && chown cfm:cfm /runs
COPY --from=gpu-build /build/cli/cfm /usr/local/bin/cfm
# What the NVIDIA container toolkit mounts: the driver's compute libraries and nvidia-smi.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER cfm
WORKDIR /runs
CMD ["cfm", "--help"]
