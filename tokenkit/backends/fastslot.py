"""The slot a byte-level backend keeps for a faster encoder proven to give its ids.

:func:`tokenkit.fastpath.apply_fast_path` attaches a *finder*; the vocabulary calls it once,
lazily, on its first encode, and keeps what it returns (None: the backend's own library
encodes). The HF and tiktoken backends share this slot; neither looks for an engine itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tokenkit.vocabulary import NO_SPECIALS, AllowedSpecial, Vocabulary

if TYPE_CHECKING:
    import numpy as np


class FastPathSlot(Vocabulary):
    """A :class:`Vocabulary` that encodes through an attached fast encoder when it has one."""

    #: False makes :meth:`fast_encoder` answer None (to measure the backend's own encoder).
    use_fast: bool = True
    fast_path_finder: Callable[[Any], Any] | None = None
    _fast: Any = None
    _fast_checked: bool = False

    def attach_fast_path(self, finder: Callable[[Any], Any] | None) -> None:
        """Encode with ``finder(self)``'s encoder (looked up on the next encode; None: the
        backend's library)."""
        self.fast_path_finder = finder
        self._fast = None
        self._fast_checked = False

    def fast_encoder(self) -> Any:
        """The attached encoder proven to give this vocabulary's ids, or None."""
        if not self.use_fast or self.fast_path_finder is None:
            return None
        if not self._fast_checked:
            self._fast = self.fast_path_finder(self)
            self._fast_checked = True
        return self._fast

    def encode_to_numpy(self, text: str, *, allowed_special: AllowedSpecial = NO_SPECIALS,
                        disallowed_special: AllowedSpecial = NO_SPECIALS) -> np.ndarray:
        to_numpy = getattr(self.fast_encoder(), "encode_to_numpy", None)
        if to_numpy is None:  # the list path, which checks the text itself
            return super().encode_to_numpy(text, allowed_special=allowed_special,
                                           disallowed_special=disallowed_special)
        return to_numpy(text, self.check_specials(text, allowed_special, disallowed_special))
