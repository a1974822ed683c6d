#!/usr/bin/env bash
# The verification page's browser libraries (web/vendor/MANIFEST): fetch each package tarball
# from the npm registry, check it against its recorded integrity, and compare (--check) or
# replace (--update) the vendored file.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:---check}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
while read -r file package inner integrity sha; do
    [[ -z "$file" || "$file" == \#* ]] && continue
    (cd "$work" && npm pack "$package" --silent >/dev/null)
    tarball="$(ls "$work"/*.tgz)"
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [[ "$actual" != "$integrity" ]]; then
        echo "$package: tarball integrity $actual, MANIFEST says $integrity" >&2
        exit 1
    fi
    tar xzf "$tarball" -C "$work" "$inner"
    if [[ "$mode" == --update ]]; then
        cp "$work/$inner" "web/vendor/$file"
    elif ! cmp -s "$work/$inner" "web/vendor/$file"; then
        echo "web/vendor/$file differs from $inner of $package" >&2
        status=1
    fi
    got="$(sha256sum "web/vendor/$file" | cut -d' ' -f1)"
    if [[ "$got" != "$sha" ]]; then
        echo "web/vendor/$file: sha256 $got, MANIFEST says $sha" >&2
        status=1
    fi
    echo "$file: $package, integrity ok"
    rm -rf "${work:?}"/*
done < web/vendor/MANIFEST
exit $status
