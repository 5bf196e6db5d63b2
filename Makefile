# Thin wrapper around CMake: every target first installs what is missing (scripts/setup.sh),
# then configures and builds. `cmake -B build && cmake --build build && ctest --test-dir build`
# works just as well.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup configure build test test-full test-asan run format clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: setup $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -LE full

# Opt-in heavy checks (ctest label `full`), e.g. the full mapping grid.
test-full: build
	cd $(BUILD) && ctest --output-on-failure -L full

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: setup
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMONCIM_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -LE full

# The default study: jobs/default.sweep under mpirun on all cores, report, figures
# (`make run RUN_ARGS=--force` starts results/default.h5 over instead of resuming it).
run: build
	MONCIM=$(BUILD)/bench/moncim bash scripts/run-default.sh $(RUN_ARGS)

# docs/paper-comparison.md from jobs/paper.sweep (scripts/paper-comparison.py, about 30 s).
.PHONY: paper-comparison
paper-comparison: build
	python3 scripts/paper-comparison.py --moncim $(BUILD)/bench/moncim

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# The slurm/ batch scripts against a real one-node Slurm started for the test (installs Debian's
# slurm-wlm and munge if missing, as root; tests/slurm/run.sh). About a minute; stops Slurm after.
.PHONY: test-slurm
test-slurm: build
	bash tests/slurm/run.sh $(BUILD)

# The model zoo (models/): trains kjv-dense and its D2S variants from scratch with the recorded
# seeds (scripts/make-models.sh; about 40 minutes on 2 cores).
.PHONY: models
models: build
	bash scripts/make-models.sh
# Benchmarks, not tests (they print timings against their stated targets and exit 1 on a miss):
# `moncim project` on a random 4096x4096 weight, and sweep speedup with 1 vs 2 MPI ranks.
.PHONY: bench
bench: build
	@rc=0; export MONCIM=$(BUILD)/bench/moncim; \
	bash scripts/bench-project.sh || rc=1; bash scripts/bench-sweep.sh || rc=1; exit $$rc

# libFuzzer targets (fuzz/) for every parser of outside input, built with clang in build-fuzz/;
# each runs FUZZ_SECONDS (default 60) on a seed corpus made from the project's real files.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: setup
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMONCIM_FUZZ=ON
	MONCIM_GPT2_TOKENIZER=$$(bash scripts/fetch-gpt2-tokenizer.sh) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  cmake --build build-fuzz -j $(JOBS) --target fuzz-run
