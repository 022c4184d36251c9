#!/usr/bin/env bash
# Rebuild static/govuk/ from the govuk-frontend npm package pinned in assets/package-lock.json.
#
# The output is committed, so running the service or the tests needs only Python; this script
# (and Node.js with npm) is needed only to move to another GOV.UK Frontend version or to change
# assets/scss/. Nothing is fetched at run time and nothing comes from a CDN.
set -euo pipefail

cd "$(dirname "$0")/../assets"

npm ci --no-audit --no-fund --ignore-scripts
version=$(node -p "require('govuk-frontend/package.json').version")
out=../static/govuk

rm -rf "$out"
npx sass --no-source-map --style=compressed --quiet-deps --silence-deprecation=if-function --silence-deprecation=import --silence-deprecation=global-builtin \
    --load-path=node_modules scss/app.scss "$out/app.min.css"
mkdir -p "$out"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$out/"
cat > "$out/VERSION" <<NOTE
Built by scripts/build_assets.sh from the govuk-frontend npm package, version $version
(MIT licence, see LICENCE), with the service's own assets/scss/. The GDS Transport font and
the GOV.UK crown are left out: this is not a GOV.UK service.
NOTE
cat > "$out/LICENCE" <<'NOTE'
GOV.UK Frontend (govuk-frontend): The MIT License (MIT)

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
NOTE
echo "static/govuk/ rebuilt from govuk-frontend $version."
