#!/usr/bin/env bash
# Builds the test stand-ins (see README.md here) on the engine DOCKER_HOST points at; an image whose tag already
# exists is kept (VIGIE_REBUILD_STANDINS=1 rebuilds). Prints "NAME=image" lines: the .env image variables to use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
logs="${VIGIE_STANDIN_LOGS:-$(mktemp -d)}"
mkdir -p "$logs"
base=vigie-test/debian:bookworm
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime_version="$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -1)"
sdk_version="$(ls "$dotnet_root/sdk" | sort -V | tail -1)"

missing() { [ "${VIGIE_REBUILD_STANDINS:-0}" = 1 ] || ! docker image inspect "$1" > /dev/null 2>&1; }

if missing "$base"; then
  mmdebstrap --variant=apt --quiet bookworm - \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" \
    | docker import -c 'CMD ["bash"]' - "$base" > /dev/null
fi

# Debian bookworm's versions, named as such: these are not the upstream images' versions.
declare -A debian=(
  [postgres]=vigie-test/postgres:15
  [prometheus]=vigie-test/prometheus:2.42
  [alertmanager]=vigie-test/alertmanager:0.25
  [node-exporter]=vigie-test/node-exporter:1.5
  [blackbox-exporter]=vigie-test/blackbox-exporter:0.23
  [postgres-exporter]=vigie-test/postgres-exporter:0.11
  [haproxy]=vigie-test/haproxy:2.6
)
pids=()
for name in "${!debian[@]}"; do
  if missing "${debian[$name]}"; then
    docker build --network=host --build-arg BASE_IMAGE="$base" -t "${debian[$name]}" "$here/$name" > "$logs/$name.log" 2>&1 &
    pids+=("$!:$name")
  fi
done

# The .NET images from the host's install, streamed as a tar context (no copy on disk).
aspnet="vigie-test/aspnet:$runtime_version"
sdk="vigie-test/dotnet-sdk:$sdk_version"
if missing "$aspnet"; then
  tar -c -C "$here/aspnet" Dockerfile \
      -C "$dotnet_root" --transform 's,^\(dotnet\|host\|shared\|LICENSE.txt\|ThirdPartyNotices.txt\),dotnet/\1,' dotnet host shared LICENSE.txt ThirdPartyNotices.txt \
    | docker build --network=host --build-arg BASE_IMAGE="$base" -t "$aspnet" - > "$logs/aspnet.log" 2>&1 \
    || { tail -30 "$logs/aspnet.log" >&2; exit 1; }
fi
if missing "$sdk"; then
  parts=()
  for part in sdk sdk-manifests packs templates metadata dnx; do [ -e "$dotnet_root/$part" ] && parts+=("$part"); done
  ca="$(mktemp -d)"
  cp /etc/ssl/certs/ca-certificates.crt "$ca/"
  tar -c -C "$here/dotnet-sdk" Dockerfile -C "$ca" --transform 's,^ca-certificates.crt,certs/ca-certificates.crt,' ca-certificates.crt \
      -C "$dotnet_root" --transform 's,^\(sdk\|sdk-manifests\|packs\|templates\|metadata\|dnx\)\(/\|$\),dotnet/\1\2,' "${parts[@]}" \
    | docker build --network=host --build-arg ASPNET_IMAGE="$aspnet" -t "$sdk" - > "$logs/dotnet-sdk.log" 2>&1 \
    || { rm -rf "$ca"; tail -30 "$logs/dotnet-sdk.log" >&2; exit 1; }
  rm -rf "$ca"
fi

failed=0
for entry in "${pids[@]}"; do
  if ! wait "${entry%%:*}"; then
    echo "stand-in ${entry#*:} failed to build:" >&2
    tail -30 "$logs/${entry#*:}.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1

echo "POSTGRES_IMAGE=${debian[postgres]}"
echo "PROMETHEUS_IMAGE=${debian[prometheus]}"
echo "ALERTMANAGER_IMAGE=${debian[alertmanager]}"
echo "NODE_EXPORTER_IMAGE=${debian[node-exporter]}"
echo "BLACKBOX_EXPORTER_IMAGE=${debian[blackbox-exporter]}"
echo "POSTGRES_EXPORTER_IMAGE=${debian[postgres-exporter]}"
echo "HAPROXY_IMAGE=${debian[haproxy]}"
echo "DOTNET_ASPNET_IMAGE=$aspnet"
echo "DOTNET_SDK_IMAGE=$sdk"
