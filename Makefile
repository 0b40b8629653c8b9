# vidserve: the human entry points. `make run` and `make test` work on a fresh Debian 12 /
# Ubuntu 24.04 machine: both install dependencies first (deploy/install-deps.sh).
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CONFIG ?= deploy/vidserve.yaml
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test bench clean

all: build

deps:
	bash deploy/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Serves the default model on 127.0.0.1:50051 (metrics on 127.0.0.1:8002).
run: build
	./$(BUILD_DIR)/vidserve --config $(CONFIG)

# Every suite: unit, integration (in-process server) and e2e (real binary, Python and Node
# clients, Prometheus). Tests run two at a time; each test prints its own log on failure.
# OMP_WAIT_POLICY=passive: LibTorch's OpenMP threads otherwise spin while waiting, and two
# test processes spinning on two cores slow each other ~10x.
test: build
	cd $(BUILD_DIR) && OMP_WAIT_POLICY=passive ctest --output-on-failure -j 2 --timeout 900

bench: build
	./$(BUILD_DIR)/vidserve-bench serve --json $(BUILD_DIR)/bench-serve.json

clean:
	rm -rf $(BUILD_DIR)
