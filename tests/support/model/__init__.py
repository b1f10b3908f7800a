"""The lifecycle model's machinery (issue 19): a workflow runtime of our own, a fake gateway, the worlds the
workflows run in and the state machines that drive them; the tests are in tests/workflows/model/."""
