#!/usr/bin/env bash
# Install the Debian packages the project needs, only those that are missing (no-op when all are there).
# Usage: scripts/install-system.sh [extra packages...]
set -euo pipefail
# libreoffice-writer-nogui renders typed entries (DOCX/ODT) for judges, and exports the demo's typed entries to PDF
PKGS=(tesseract-ocr tesseract-ocr-vie tesseract-ocr-script-viet tesseract-ocr-osd poppler-utils fonts-dejavu-core fonts-liberation2
      libreoffice-writer-nogui "$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's own python3 needs python3-venv for `python3 -m venv` (pyenv/python.org builds have it)
if ! ${PYTHON:-python3} -c "import ensurepip, venv" 2>/dev/null; then missing+=(python3-venv); fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
