"""The check of an uploaded PDF letter (its page count; no script, action or attached file):
in a child forked from the render server, under limits, against the same check in this
process (as it ran before), on a letter as exported and as scanned; in a Python of its own
(when the server is busy); and on a PDF made to be slow to read (under 1 MB, some 19 s of
pypdf's time in a process), refused at LETTER_CHECK_SECONDS. The same for an image letter
(decoded whole by Pillow): an A4 page scanned at 300 dpi as PNG and as JPEG, and a progressive
JPEG whose scans repeat (some 0.3 MB, some 20 s of Pillow's time in a process).

Run: .venv/bin/python bench/letter_check.py [--runs N]
"""

import argparse
import io
import time

from _setup import django_setup, timed


def scanned_pdf():
    from PIL import Image

    buffer = io.BytesIO()
    pages = [Image.new("RGB", (1240, 1754), (250, 250, 250)) for _ in range(2)]
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def scanned_image(kind):
    """A4 at 300 dpi, grey with some text-like noise, as a scanner saves it."""
    import random

    from PIL import Image

    image = Image.new("L", (2480, 3508), 250)
    image.paste(Image.frombytes("L", (2000, 300), random.Random(1).randbytes(2000 * 300)), (240, 600))
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def milliseconds(function, runs):
    return timed(function, runs)[0] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    django_setup()
    from django.conf import settings

    from onboarding.application import pdf, pdf_worker
    from tests.onboarding.test_validation import _jpeg_of_many_scans, _pdf_of_many_leaves
    from tests.onboarding_data import minimal_pdf

    max_pages = settings.ONBOARDING_UPLOAD_MAX_PAGES
    pdf.render_server_start(wait=60)
    print("| letter | bytes | child of the server, ms | in this process, ms |")
    for name, content in (("3 pages, exported", minimal_pdf(pages=3)), ("2 pages, scanned", scanned_pdf())):
        assert pdf.letter_verdict(content, max_pages=max_pages).startswith("pages ")  # pypdf imported by the server
        child = milliseconds(lambda content=content: pdf.letter_verdict(content, max_pages=max_pages), args.runs)
        here = milliseconds(lambda content=content: pdf_worker.letter_verdict(content, max_pages=max_pages), args.runs)
        print(f"| {name} | {len(content):,} | {child:.1f} | {here:.1f} |")
    with pdf._server.lock:  # another thread is rendering
        alone = milliseconds(lambda: pdf.letter_verdict(minimal_pdf(pages=3), max_pages=max_pages), max(3, args.runs // 5))
    print(f"3 pages, exported, in a Python of its own (server busy): {alone:.0f} ms")
    hostile = _pdf_of_many_leaves(50_000)
    started = time.perf_counter()
    verdict = pdf.letter_verdict(hostile, max_pages=max_pages)
    refused = time.perf_counter() - started
    print(f"made to be slow ({len(hostile):,} bytes): {verdict!r} after {refused:.2f} s "
          f"(LETTER_CHECK_SECONDS {settings.LETTER_CHECK_SECONDS:g})")
    started = time.process_time()
    here = pdf_worker.letter_verdict(hostile, max_pages=max_pages)
    print(f"the same in this process, as before: {here!r} after {time.process_time() - started:.1f} s of processor time")
    max_pixels = settings.ONBOARDING_UPLOAD_MAX_PIXELS
    print("| image letter | bytes | child of the server, ms | in this process, ms |")
    for name, content in (("A4 at 300 dpi, PNG", scanned_image("PNG")), ("A4 at 300 dpi, JPEG", scanned_image("JPEG"))):
        assert pdf.image_verdict(content, max_pixels=max_pixels) == pdf_worker.IMAGE_OK
        child = milliseconds(lambda content=content: pdf.image_verdict(content, max_pixels=max_pixels), args.runs)
        here = milliseconds(lambda content=content: pdf_worker.image_verdict(content, max_pixels=max_pixels), args.runs)
        print(f"| {name} | {len(content):,} | {child:.1f} | {here:.1f} |")
    hostile = _jpeg_of_many_scans(3_000)
    started = time.perf_counter()
    verdict = pdf.image_verdict(hostile, max_pixels=max_pixels)
    print(f"image made to be slow ({len(hostile):,} bytes): {verdict!r} after {time.perf_counter() - started:.2f} s")
    started = time.process_time()
    here = pdf_worker.image_verdict(hostile, max_pixels=max_pixels)
    print(f"the same in this process, as before: {here!r} after {time.process_time() - started:.1f} s of processor time")
    pdf.render_server_stop()


if __name__ == "__main__":
    main()
