"""The course build: discovery, cache, orchestration (not ``build/``: the standard Python
.gitignore ignores every folder of that name, and some tools skip them as generated output).
"""

# The lesson's machine-readable files (lesson.json, qa.json, align.json, summary.json and the
# build's stamp build.json) live in this subfolder of output/<lesson>/, so no lesson name can
# collide with them: the top holds only <lesson>.*, the HTML reports, CSVs, markers, thumbnail.
DATA = "data"
