# Cohesix build and test entry points. `make run` starts a hosted hive;
# `make test` is what CI runs.
.PHONY: run gateway swarmui build ui test python-test vet fmt-check unit fleet-check fuzz generate check-generated check-limit-literals check-readme-layout fuzz-manifest sel4-ci image qemu qemu-net sel4-system sel4-boottime uboot-smoke sdcard

GO ?= go
FUZZTIME ?= 20s
# PROFILE picks the manifest compiled into what run and build make: dev (configs/root_task.toml)
# or fleet (configs/root_task.fleet.toml: 1,024 workers; its tables are generated/manifest_fleet.go,
# selected by the build tag cohesix_fleet; DECISIONS P50). `make run PROFILE=fleet`.
PROFILE ?= dev
ifeq ($(PROFILE),dev)
TAGS :=
else ifeq ($(PROFILE),fleet)
TAGS := -tags cohesix_fleet
else
$(error PROFILE=$(PROFILE): want dev or fleet)
endif
BIN := bin$(if $(TAGS),/$(PROFILE))
# Python tooling comes from Debian (python3-pytest, mypy, python3-hypothesis), not pyenv.
PYTHON ?= /usr/bin/python3
# STATE_DIR keeps the hive's acknowledged state across `make run`s (one per profile); STATE_DIR=
# runs it in memory.
STATE_DIR ?= .cohesix/state$(if $(TAGS),-$(PROFILE))

run: ## start a hosted hive: console 127.0.0.1:31337, Secure9P 127.0.0.1:5640, serial on this terminal, state in $(STATE_DIR); PROFILE=fleet for 1,024 workers
	@echo "Attach from another terminal with: go run $(if $(TAGS),$(TAGS) )./cmd/cohsh --transport tcp --role queen"
	$(GO) run $(TAGS) ./roottask --state-dir '$(STATE_DIR)'

gateway: ## start hive-gateway on 127.0.0.1:8080 in front of the hive of `make run` (docs/GATEWAY.md)
	$(GO) run ./cmd/hive-gateway

swarmui: ui ## start SwarmUI on 127.0.0.1:8090 in front of the hive of `make run` (docs/SWARMUI.md); log in with a ticket from cohsh --mint-ticket
	$(GO) run ./cmd/swarmui

build: ## build every program (roottask, cohsh, coh, hive-gateway, ...) into bin/ (PROFILE=fleet: bin/fleet/)
	$(GO) build $(TAGS) -o $(BIN)/ ./cmd/... ./roottask

test: vet fmt-check check-generated check-limit-literals check-readme-layout ui unit fleet-check python-test sel4-ci fuzz ## everything CI checks

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

ui: ## bundle the SwarmUI page (PixiJS, esbuild; pinned by package-lock.json) into cmd/swarmui/web/dist
	cd cmd/swarmui/web && npm ci --no-audit --no-fund && node build.mjs

unit: ## all tests under the race detector, twice: GOMAXPROCS 1 and 4
	$(GO) test -race -count=1 -cpu=1,4 ./...

# The packages whose tests read the generated limits run again on the fleet tables; the e2e test
# TestFleetProfile (tests/, in unit) boots the fleet root task.
FLEET_PKGS := ./internal/manifest ./internal/queen ./internal/gate ./internal/hive ./roottask ./cmd/coh-rtc

fleet-check: ## the fleet profile (PROFILE=fleet): everything builds and vets with -tags cohesix_fleet, and the limit-reading packages' tests pass on its tables
	$(GO) build -tags cohesix_fleet ./...
	$(GO) vet -tags cohesix_fleet ./...
	$(GO) test -race -count=1 -tags cohesix_fleet $(FLEET_PKGS)

python-test: ## the Python client (python/): mypy --strict on the package, then pytest (parity with cohsh on real roottasks)
	cd python && $(PYTHON) -m mypy --strict cohesix
	PYTHONPATH=python $(PYTHON) -m pytest -q -p no:cacheprovider python/tests

fuzz: ## run every fuzz target (any func FuzzXxx in a _test.go) for $(FUZZTIME) on its seed corpus
	FUZZTIME=$(FUZZTIME) scripts/fuzz-all.sh

generate: ## regenerate generated/ (dev and fleet profiles), docs/snippets/, scripts/cohsh/boot_v0.coh from configs/root_task*.toml
	$(GO) run ./cmd/coh-rtc

check-generated: ## fail when committed coh-rtc outputs drift from the manifest
	scripts/check-generated.sh

check-limit-literals: ## fail on manifest-owned limits written as literals in Go code
	scripts/check-limit-literals.sh

check-readme-layout: ## fail when a Go package is missing from README's layout table
	scripts/check-readme-layout.sh

fuzz-manifest: ## fuzz the manifest compiler alone
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/manifest/

sel4-ci: ## seL4 checks without seL4: overlay, arm64 payload + svc check, shim compile, ABI check, qemu-aarch64 serial pack
	scripts/sel4-ci.sh

image: ## seL4 image (needs SEL4_BUILD_DIR, see docs/SEL4.md)
	scripts/cohesix-build-run.sh --no-run

qemu: ## build and boot the seL4 image in QEMU (needs SEL4_BUILD_DIR)
	scripts/cohesix-build-run.sh

qemu-net: ## boot the seL4 image with virtio-net (console 31337, Secure9P 564 forwarded to 5640)
	QEMU_NET=1 scripts/cohesix-build-run.sh

uboot-smoke: ## boot the seL4 image through u-boot-qemu from a FAT disk, run the serial pack (needs SEL4_BUILD_DIR)
	scripts/uboot/qemu-uboot-smoke.sh

sdcard: ## Pi 4 SD card image out/sdcard/sdcard.img from PI4_IMAGE (the CMake bcm2711 build's cohesix-image; docs/PI4.md)
	@test -n "$(PI4_IMAGE)" || { echo "set PI4_IMAGE to a bcm2711 cohesix-image (docs/PI4.md)"; exit 2; }
	scripts/uboot/mksdcard.sh $(PI4_IMAGE) out/sdcard/sdcard.img

sel4-system: ## QEMU system tests against the seL4 image (needs SEL4_BUILD_DIR and qemu-system-aarch64)
	$(GO) test -count=1 -run Sel4 -v ./tests/

sel4-boottime: image ## kernel entry to prompt, median of 9 boots (docs/BENCHMARKS.md)
	$(GO) run ./sel4/tools/sel4boottime -runs 9 out/sel4/image/cohesix-image
