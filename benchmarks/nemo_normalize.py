"""NeMo text normalization over sentences, for `pocket-batch bench normalize --nemo-python`.

Run by a Python that has nemo-text-processing 1.2.0 (not a dependency of pocket-batch: it pins pynini and pulls
transformers), as a script, so that it imports nothing of pocket-batch:
    python nemo_normalize.py LANG CACHE_DIR < sentences.json > result.json
Prints {"compile_s": seconds to build or load the grammars, "seconds": [one a sentence], "outputs": [...]}.
"""

import json
import sys
import time


def main() -> None:
    language, cache_dir = sys.argv[1], sys.argv[2]
    sentences = json.load(sys.stdin)
    started = time.perf_counter()
    from nemo_text_processing.text_normalization.normalize import Normalizer

    normalizer = Normalizer(input_case="cased", lang=language, cache_dir=cache_dir)
    compile_s = time.perf_counter() - started
    outputs, seconds = [], []
    for sentence in sentences:
        began = time.perf_counter()
        try:
            outputs.append(normalizer.normalize(sentence, punct_post_process=True))
        except Exception as exc:  # noqa: BLE001 - a grammar that fails on a sentence scores it wrong, and goes on
            outputs.append(f"<failed: {exc}>")
        seconds.append(time.perf_counter() - began)
    json.dump({"compile_s": compile_s, "seconds": seconds, "outputs": outputs}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
