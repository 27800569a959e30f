# Two commands do the whole set-up on a fresh machine (Python 3.11+, make, venv):
#   make run    install, then run Switchboard on demo data (sandbox provider)
#   make test   install, then run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPUs this process may use, and half as many again (see `test`).
TEST_PROCESSES ?= $(shell $(PYTHON) -c "import os; n = len(getattr(os, 'sched_getaffinity', lambda _: range(os.cpu_count() or 1))(0)); print(n + (n + 1) // 2)")

.PHONY: run test browser lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/switchboard demo

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo  # the layering contracts in pyproject.toml
	$(BIN)/mypy  # core and providers, as [tool.mypy] in pyproject.toml says
	# Three processes for two cores: a console test waits on its screen about a third
	# of its time (805 s with one a core, 688 s so). A module's tests share a worker
	# (loadscope), so a module-wide fixture (the screenshot scenes, Chromium) is made
	# once, not once per worker. The slowest tests are listed.
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadscope --durations=15

# The mobile case page's tests drive Debian's chromium through chromedriver.
# Installed when missing and we may (root with apt-get); otherwise those tests
# are skipped and say why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and chromium-driver for the mobile page's tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } || \
	    echo "chromium could not be installed: the mobile page's browser tests will be skipped"; \
	  else echo "chromium is not installed: the mobile page's browser tests will be skipped"; fi; }

bench: $(STAMP)
	$(BIN)/python -m bench.outbound
	$(BIN)/python -m bench.throttle
	$(BIN)/python -m bench.sweep
	$(BIN)/python -m bench.lateness
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.sinch_outbound
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.contacts
	$(BIN)/python -m bench.templates
	$(BIN)/python -m bench.statistics
	$(BIN)/python -m bench.routing
	$(BIN)/python -m bench.notify
	$(BIN)/python -m bench.notify_email
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.campaigns
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.startup

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .import_linter_cache .mypy_cache *.egg-info
