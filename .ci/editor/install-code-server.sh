#!/bin/sh
# Installs code-server (a real VS Code workbench + Node extension host) from the npm registry into a cache
# folder, without its postinstall.sh, which cannot work offline or as root (see
# shared/docs/real-editor-testing.md §1). Never make code-server a devDependency: `npm ci` would run that
# postinstall and fail.
#
#   .ci/editor/install-code-server.sh [DEST] [VERSION]
#   DEST    default $IDREG_CODE_SERVER_DIR, else $HOME/.cache/idreg-lens/code-server-$VERSION
#   VERSION default 4.100.3 (VS Code 1.100.3; the last code-server that runs on Node 20)
#
# apt prerequisites: ripgrep libkrb5-dev (plus python3, make, g++ for node-gyp).
set -eu
VER=${2:-${IDREG_CODE_SERVER_VERSION:-4.100.3}}
DEST=${1:-${IDREG_CODE_SERVER_DIR:-$HOME/.cache/idreg-lens/code-server-$VER}}
if [ -x "$DEST/node_modules/.bin/code-server" ] && [ -f "$DEST/.complete" ]; then
  echo "$DEST/node_modules/.bin/code-server"
  exit 0
fi
command -v rg >/dev/null || { echo "install-code-server: needs ripgrep (apt-get install -y ripgrep)" >&2; exit 1; }
mkdir -p "$DEST"
cd "$DEST"
rm -f .complete
[ -f package.json ] || echo '{"private":true}' > package.json
export npm_config_yes=true   # node-pty's postinstall runs `npx node-gyp`; the machine npmrc may say yes=false
npm install --no-audit --no-fund --ignore-scripts "code-server@$VER"
npm rebuild argon2           # its prebuilt download fails offline, so it compiles with node-gyp
cd node_modules/code-server/lib/vscode
npm install --no-audit --no-fund --omit=dev --ignore-scripts   # pinned by its npm-shrinkwrap.json
mkdir -p node_modules/@vscode/ripgrep/bin                       # makes @vscode/ripgrep skip its GitHub download
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg       # Debian's ripgrep 13 = upstream v13.0.0-10
npm rebuild                  # node-pty, spdlog, @parcel/watcher, kerberos, native-watchdog, ...
ln -sfn node_modules node_modules.asar                          # what postinstall.sh does
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
cd extensions
npm install --no-audit --no-fund --omit=dev --ignore-scripts
npm rebuild
touch "$DEST/.complete"
echo "$DEST/node_modules/.bin/code-server"
