# Stagecraft: `make run` (demo app on http://127.0.0.1:5000) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install chromium bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

run: install
	STAGECRAFT_DATA_DIR=$${STAGECRAFT_DATA_DIR:-$(CURDIR)/data} $(VENV)/bin/stagecraft serve --demo-if-empty

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: install chromium
	$(PY) -m pytest -q

bench: install chromium
	$(PY) bench/compile_bench.py
	$(PY) bench/runtime_bench.py --n 100000
	$(PY) bench/canvas_bench.py
	$(PY) bench/delivery_bench.py

clean:
	rm -rf $(VENV) data screenshots
