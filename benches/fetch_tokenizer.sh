#!/bin/sh
# Puts the Gemma 3 tokenizer vocabulary (gemma3_cleaned_262144_v2.spiece.model, 4.69 MB,
# Apache-2.0, from google/gemma_pytorch) into batchline's cache folder, checked by sha256.
#
# The bytes come from the crates.io package gemini-tokenizer 0.2.0, which ships them under
# resources/. The package is downloaded with cargo's own client (`cargo fetch` on a throw-away
# manifest that depends on it: this downloads the .crate archives of it and of its dependencies
# into cargo's cache and builds nothing), then the one file is taken out of the archive.
#
#   sh benches/fetch_tokenizer.sh [DIR]
#
# DIR defaults to the cache folder batchline reads: $BATCHLINE_CACHE_DIR, else
# $XDG_CACHE_HOME/batchline (when absolute), else $HOME/.cache/batchline. Does nothing when the
# file is already there with the right checksum. Needs cargo, tar (with gzip) and sha256sum.
set -eu

NAME=gemma3_cleaned_262144_v2.spiece.model
SHA256=1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c
PACKAGE=gemini-tokenizer
VERSION=0.2.0
MEMBER=$PACKAGE-$VERSION/resources/$NAME

if [ $# -ge 1 ]; then
    DIR=$1
elif [ -n "${BATCHLINE_CACHE_DIR:-}" ]; then
    DIR=$BATCHLINE_CACHE_DIR
else
    case "${XDG_CACHE_HOME:-}" in
        /*) DIR=$XDG_CACHE_HOME/batchline ;;
        *) DIR=$HOME/.cache/batchline ;;
    esac
fi

check() {
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]
}

if check "$DIR/$NAME"; then
    echo "fetch_tokenizer: $DIR/$NAME is present and verified"
    exit 0
fi

mkdir -p "$DIR"
TMP=$(mktemp -d "$DIR/.fetch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# A throw-away package whose only dependency is the one that ships the vocabulary.
cat > "$TMP/Cargo.toml" <<TOML
[package]
name = "batchline-fetch-tokenizer"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[lib]
path = "lib.rs"

[dependencies]
$PACKAGE = "=$VERSION"
TOML
: > "$TMP/lib.rs"
cargo fetch --quiet --manifest-path "$TMP/Cargo.toml"

CRATE=
for f in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$PACKAGE-$VERSION.crate"; do
    [ -f "$f" ] && CRATE=$f && break
done
if [ -z "$CRATE" ]; then
    echo "fetch_tokenizer: cargo fetch did not leave $PACKAGE-$VERSION.crate in cargo's registry cache" >&2
    exit 1
fi
tar -xzf "$CRATE" -C "$TMP" "$MEMBER"
if ! check "$TMP/$MEMBER"; then
    echo "fetch_tokenizer: $CRATE: $NAME has sha256 $(sha256sum "$TMP/$MEMBER" | cut -d' ' -f1), expected $SHA256" >&2
    exit 1
fi
mv -f "$TMP/$MEMBER" "$DIR/$NAME"
echo "fetch_tokenizer: installed $DIR/$NAME (sha256 verified)"
