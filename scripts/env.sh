# Sourced by the Makefile's recipes and scripts: where the tools and build live.
# npm's binaryen (a current wasm-opt) must shadow Debian's /usr/bin/wasm-opt.
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export PAYLINKS_BIN="$TARGET_DIR/release/paylinks"
# Schemathesis' virtualenv (scripts/setup creates it).
export PAYLINKS_API_VENV="${PAYLINKS_API_VENV:-$HOME/.cache/paylinks/venv-$(sha256sum "$PWD/tools/requirements-api.txt" | cut -c1-12)}"
