# certpipe - plain Makefile, pkg-config, no generated build system.
#
#   make                 build into $(O) (default build/)
#   make check           unit + shell tests, then again under ASan/UBSan
#   make install         PREFIX=/usr/local DESTDIR=
#   make fuzz            libFuzzer targets (clang) into build-fuzz/
#
# O= selects the build folder, SAN=1 adds AddressSanitizer + UBSan.

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
LIBEXEC   = $(PREFIX)/libexec/certpipe
MANDIR    = $(PREFIX)/share/man
STATEDIR ?= /var/lib/certpipe

O   ?= build
SAN ?=

CC      ?= cc
PKGS     = openssl sqlite3 popt uuid libcurl jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wpointer-arith \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
HARDEN   = -fstack-protector-strong -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now
ifeq ($(SAN),1)
HARDEN  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
HARDEN_LD += -fsanitize=address,undefined
else
HARDEN  += -D_FORTIFY_SOURCE=2
endif
ALL_CFLAGS = -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE \
             -DCERTPIPE_STATEDIR='"$(STATEDIR)"' -DCERTPIPE_LIBEXEC='"$(LIBEXEC)"' \
             -DCERTPIPE_BINDIR='"$(BINDIR)"' -I. -Ilib \
             -pthread $(WARN) $(HARDEN) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(HARDEN_LD) $(LDFLAGS)

LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(O)/%.o)
LIBA     = $(O)/lib/libcertpipe.a

PROGS    = $(basename $(notdir $(wildcard bin/*.c)))
CLI_SRC  = $(wildcard bin/certpipe/*.c)
CLI_OBJ  = $(CLI_SRC:bin/certpipe/%.c=$(O)/cli/%.o)
BINS     = $(PROGS:%=$(O)/bin/%)

UNIT_SRC = $(wildcard tests/unit/t_*.c)
UNITS    = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
HELP_SRC = $(wildcard tests/helpers/*.c)
HELPERS  = $(HELP_SRC:tests/helpers/%.c=$(O)/tests/%)

MAN      = $(wildcard doc/*.[1-8])

all: $(BINS) $(UNITS) $(HELPERS)

$(O)/%.o: %.c $(wildcard lib/*.h) bin/certpipe/cli.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/cli/%.o: bin/certpipe/%.c $(wildcard lib/*.h) bin/certpipe/cli.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(O)/bin/certpipe: $(O)/bin/certpipe.o $(CLI_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/bin/%: $(O)/bin/%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/%: $(O)/tests/helpers/%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# One test run over one build: C unit tests and numbered shell tests, TAP via prove.
check-one: all
	CERTPIPE_BUILD=$(CURDIR)/$(O) prove -f --timer $(UNITS) tests/[0-9]*.sh

check: check-docs
	$(MAKE) O=build check-one
	$(MAKE) O=build-asan SAN=1 check-one

check-docs: $(BINS)
	sh scripts/check-docs $(O)/bin

bench: all
	@for b in bench/*; do [ -x "$$b" ] && CERTPIPE_BUILD=$(CURDIR)/$(O) "$$b"; done; true

FUZZ_SRC = $(wildcard fuzz/fuzz_*.c)
fuzz:
	$(MAKE) O=build-fuzz CC=clang SAN=1 \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link' $(FUZZ_SRC:fuzz/%.c=build-fuzz/fuzz/%)

build-fuzz/fuzz/%: build-fuzz/fuzz/%.o $(LIBA)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXEC)
	install -m 0755 $(O)/bin/certpipe $(DESTDIR)$(BINDIR)/certpipe
	for p in $(filter-out certpipe,$(PROGS)); do \
	  install -m 0755 $(O)/bin/$$p $(DESTDIR)$(LIBEXEC)/$$p; done
	for m in $(MAN); do s=$${m##*.}; \
	  install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all check check-one check-docs bench fuzz install clean
.SECONDARY:
