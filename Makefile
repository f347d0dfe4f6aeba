# berth: the two commands a newcomer needs are `make demo` and `make test`.
# Both run `setup` first, which installs whatever a fresh machine lacks.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages berth uses at run time and in its tests.
APT_PACKAGES := gcc libc6-dev etcd-server runc crun busybox-static umoci skopeo nftables iproute2 \
	containernetworking-plugins graphviz iperf3 conntrack containerd podman
STAMP := $(VENV)/.installed

.PHONY: setup apt helpers demo test test-fast test-unit lint typecheck bench clean

setup: $(STAMP) apt helpers

# The pause process and the per-container monitor are tiny static C programs
# (a Python process would cost ~9 MB per pod; these cost ~0.5 MB).
HELPERS := berth/host/bin/berth-pause berth/host/bin/berth-monitor
helpers: $(HELPERS)
berth/host/bin/berth-%: berth/host/%.c
	@mkdir -p berth/host/bin
	gcc -static -Os -s -o $@ $<

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi; \
	command -v kubectl >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null || echo "setup: kubectl unavailable; kubectl tests will be skipped"; }

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/berth demo

lint: setup
	$(VENV)/bin/ruff check berth tests bench
	$(VENV)/bin/mypy

# Test tiers.  Every test is bounded in time: 120 s each, 600 s for tests marked slow
# (pyproject.toml [tool.pytest.ini_options] and tests/conftest.py).
# Unit tier: no root, no real components (fakes only); the whole tier stays under 30 s.
test-unit: setup
	$(VENV)/bin/pytest -q -m 'not root and not slow' --timeout=30 tests/unit

# Everything except the slowest end-to-end tests (marked slow).
test-fast: setup
	$(VENV)/bin/pytest -q -m 'not slow'

# Everything (root tier included: real kernel, runc, etcd); under 30 minutes on 2 cores.
test: setup lint
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) -m bench.api

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
