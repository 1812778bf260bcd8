"""Display script conversion (OpenCC): answers come back in the script the agent reads."""

from __future__ import annotations

from search.normalize import converter

# Phrase-level Taiwan conversions, so 软件 is shown as 軟體 and back, not only per character.
_CONFIGS = {"zh-Hant": "s2twp", "zh-Hans": "tw2sp"}
SCRIPTS = tuple(_CONFIGS)


def convert(text: str, script: str) -> str:
    """``text`` in ``script`` (zh-Hans or zh-Hant); Latin text passes through unchanged."""
    if script not in _CONFIGS:
        raise ValueError(f"display_script must be one of {', '.join(SCRIPTS)}, not {script!r}")
    return converter(_CONFIGS[script]).convert(text) if text else text
