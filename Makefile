# DropFix build. `make` builds build/dropfix (release); see README for the targets.
# Sources are discovered by wildcard so a new module needs no Makefile edit.

PKGS     := libmicrohttpd jansson sqlite3 libpq libsodium libcrypto zlib
SRCS     := $(sort $(shell find src -name '*.c'))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))

WARN     := -std=c17 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat -Werror=format-security -Werror
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDHARDEN := -pie -Wl,-z,relro -Wl,-z,now
CPPFLAGS = -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

# Variants: release (build/dropfix), test (test hooks), asan (test hooks + ASan/UBSan),
# fuzz (clang, libFuzzer instrumentation, for fuzz targets only).
release_CC      := $(or $(CC_RELEASE),cc)
release_CFLAGS  := $(WARN) $(HARDEN) -O2 -g
release_LDFLAGS := $(LDHARDEN)
test_CC         := cc
test_CFLAGS     := $(WARN) $(HARDEN) -O1 -g -DDROPFIX_TEST_HOOKS
test_LDFLAGS    := $(LDHARDEN)
asan_CC         := cc
asan_CFLAGS     := $(WARN) -O1 -g -fno-omit-frame-pointer -DDROPFIX_TEST_HOOKS \
                   -fsanitize=address,undefined -fno-sanitize-recover=undefined
asan_LDFLAGS    := -fsanitize=address,undefined
fuzz_CC         := clang
fuzz_CFLAGS     := $(filter-out -Werror,$(WARN)) -O1 -g -DDROPFIX_TEST_HOOKS -DDROPFIX_FUZZ \
                   -fsanitize=fuzzer-no-link,address,undefined
fuzz_LDFLAGS    := -fsanitize=fuzzer,address,undefined

.PHONY: all deps run test sanitize fuzz bench clean format check-banned unit test-build
all: build/dropfix

# Subsystem fragments (mk/*.mk) may add generated sources to GEN_SRCS (paths under
# build/gen/, each with its own rule) and extra packages to PKGS.
GEN_SRCS :=
-include $(sort $(wildcard mk/*.mk))

define variant
$(1)_OBJS := $$(patsubst src/%.c,build/$(1)/obj/%.o,$$(LIB_SRCS)) \
	$$(patsubst build/gen/%.c,build/$(1)/obj/gen/%.o,$$(GEN_SRCS))
build/$(1)/obj/%.o: src/%.c
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(CPPFLAGS) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@
build/$(1)/obj/gen/%.o: build/gen/%.c
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(CPPFLAGS) $$($(1)_CFLAGS) -Wno-missing-prototypes -c $$< -o $$@
build/$(1)/libdropfix.a: $$($(1)_OBJS)
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/dropfix: build/$(1)/obj/main.o build/$(1)/libdropfix.a
	$$($(1)_CC) $$($(1)_LDFLAGS) -o $$@ $$^ $$(LIBS)
build/$(1)/unit/%: tests/unit/%.c build/$(1)/libdropfix.a $$(wildcard tests/unit/*.h)
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(CPPFLAGS) -Itests/unit $$($(1)_CFLAGS) -Wno-missing-prototypes -o $$@ $$< \
		build/$(1)/libdropfix.a $$($(1)_LDFLAGS) $$(LIBS) -lcmocka
-include $$(patsubst src/%.c,build/$(1)/obj/%.d,$$(SRCS))
endef
$(foreach v,release test asan fuzz,$(eval $(call variant,$(v))))

build/dropfix: build/release/dropfix
	cp $< $@

build/fuzz/bin/%: fuzz/%.c build/fuzz/libdropfix.a
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(fuzz_CFLAGS) -Wno-missing-prototypes -o $@ $< build/fuzz/libdropfix.a $(fuzz_LDFLAGS) $(LIBS)

UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(UNIT_SRCS))
FUZZ_NAMES := $(patsubst fuzz/%.c,%,$(FUZZ_SRCS))

# Everything `make test` needs, built in one make invocation.
test-build: build/dropfix build/test/dropfix build/asan/dropfix \
	$(addprefix build/test/unit/,$(UNIT_NAMES)) $(addprefix build/asan/unit/,$(UNIT_NAMES)) \
	$(addprefix build/fuzz/bin/,$(FUZZ_NAMES))

deps:
	@scripts/install-deps.sh

run: deps build/dropfix
	build/dropfix serve

# a demo workspace with simulated history and printed sign-in details (README)
.PHONY: demo
demo: deps build/dropfix
	build/dropfix demo

test: deps
	@scripts/test.sh

sanitize: deps
	@scripts/test.sh --only asan

fuzz: deps $(addprefix build/fuzz/bin/,$(FUZZ_NAMES))
	@scripts/fuzz.sh $(FUZZ_NAMES)

bench: deps build/dropfix
	@bench/run.sh

check-banned:
	@scripts/check-banned.sh

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(UNIT_SRCS) $(FUZZ_SRCS)

clean:
	rm -rf build
