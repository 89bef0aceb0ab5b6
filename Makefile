# llmux — plain Makefile.
#
#   make            build/llmux
#   make test       every test (unit + end-to-end), prints "N passed, N failed"
#   make asan       the same tests built and run under ASan+UBSan (build-asan/)
#   make fuzz       libFuzzer targets with clang (build-fuzz/)
#   make demo       the quick-start job
#   make bench      benchmarks (bench/README.md)
#
# Every .c under src/ is part of the library except src/cli/main.c. Files
# named *_avx2.c / *_avx512.c get the matching -m flags and are only called
# after a run-time CPU check. Tests: tests/unit/test_*.c (Criterion, one
# binary each) and tests/e2e/*.sh (drive the real binary).

BUILD    ?= build
CC       ?= cc
SAN      ?=
OPT      ?= -O2
PKGS     := libuv libcurl jansson libfyaml libmicrohttpd sqlite3 libhs
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
               -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) -g -pthread -fno-strict-aliasing
ifeq ($(SAN),1)
  CFLAGS_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1
endif
CFLAGS  := $(CFLAGS_BASE) $(OPT) $(CFLAGS_SAN) $(EXTRA_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lm -lpthread $(CFLAGS_SAN)

SRCS      := $(shell find src -name '*.c' ! -path 'src/cli/main.c' | sort)
OBJS      := $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/catalogue_data.o
DEPS      := $(OBJS:.o=.d)
LIB       := $(BUILD)/libllmux.a
BIN       := $(BUILD)/llmux
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(sort $(wildcard tests/unit/helpers/*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test asan fuzz demo bench clean deps format unit e2e
all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(CFLAGS) -mavx2 -mfma -mf16c -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(CFLAGS) -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -MMD -MP -c $< -o $@

# The model catalogue is a data file compiled into the binary.
$(BUILD)/gen/catalogue_data.c: data/catalogue.yaml
	@mkdir -p $(dir $@)
	@{ echo '/* generated from data/catalogue.yaml */'; \
	   echo '#include <stddef.h>'; \
	   echo 'const unsigned char lx_catalogue_yaml[] = {'; \
	   od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00};'; \
	   echo 'const size_t lx_catalogue_yaml_len = sizeof lx_catalogue_yaml - 1;'; } > $@

$(BUILD)/obj/gen/catalogue_data.o: $(BUILD)/gen/catalogue_data.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BIN): $(BUILD)/obj/src/cli/main.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPERS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(TEST_HELPERS) $(LIB) $(LDLIBS) -lcriterion

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 -o $@ $< $(LIB) $(LDLIBS)

unit: $(BIN) $(UNIT_BINS)
test: $(BIN) $(UNIT_BINS) $(BENCH_BINS)
	@BUILD=$(BUILD) bash tests/run.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 test

# libFuzzer targets: each fuzz/fuzz_*.c linked with the library built by clang.
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -Wno-unknown-warning-option" build-fuzz/libllmux.a
	@mkdir -p build-fuzz/fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  echo "  FUZZ $$n"; \
	  clang $(CFLAGS_BASE) -O1 -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz/$$n $$f \
	    build-fuzz/libllmux.a $(PKG_LIBS) -lm || exit 1; done

demo: $(BIN)
	@bash scripts/demo.sh

bench: $(BIN) $(BENCH_BINS)
	@echo "benchmarks built in $(BUILD)/bench; see bench/README.md"

deps:
	@bash scripts/deps.sh

format:
	clang-format -i $$(find src tests fuzz bench -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz

-include $(DEPS)
