"""Rewrite the phrases a review found too close to real pledge or media formulas, or to
moderation-evasion advice (2026-12-07)."""
import json
from pathlib import Path
EDITS = {
    "ar-p0010": ("في العسر قبل اليسر", "مهما طال الطريق"),
    "ar-p0012": ("fel 3osr 2abl el yosr", "mahma tawwel el tari2"),
    "ar-p0032": ("فارفعوه من جديد بعناوين مختلفة", "فارفعوه من جديد"),
    "ar-q0019": ("وألحقنا بهم غير مبدّلين، ", ""),
    "ar-q0031": ("صدر بحمد الله النشيد الجديد", "صدر النشيد الجديد"),
    "ar-q0046": ("وضحكنا معكم على رسوماتكم التي صوّرتنا فلّاحين تائهين يحملون فوانيس مكسورة", "وضحكنا معكم على برامجكم التي تقول إننا انتهينا"),
    "en-p0013": ("through ease and hardship, through prison and exile", "through every season, whatever it costs"),
    "en-q0013": ("I will obey in hardship and in ease.", "I will follow him wherever he leads."),
    "en-q0033": ("Save the new film in three places. When the platforms remove it, put it straight back up, change the title if you have to, but never let it disappear.", "When the platforms remove the new film, put it straight back up, and never let it disappear."),
    "fr-q0011": ("dans l'aisance comme dans l'épreuve, dans ce que j'aime comme dans ce que je déteste", "aujourd'hui, demain et jusqu'au bout"),
    "fr-q0012": ("Tu promets d'écouter et d'obéir, de ne jamais trahir", "Tu promets de ne jamais trahir"),
    "fr-q0035": ("Archivez nos textes, gardez des copies de chaque vidéo, préparez des comptes de secours pour le jour où ils fermeront les vôtres. Quand une plateforme ferme une porte, ouvrez-en trois.", "Quand ils effacent un de nos textes, republiez-le."),
}
done = set()
for path in sorted(Path("data/text").glob("*-writer-*.jsonl")):
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        row = json.loads(line)
        if row["id"] in EDITS:
            old, new = EDITS[row["id"]]
            assert old in row["text"], row["id"]
            row["text"] = row["text"].replace(old, new)
            line = json.dumps(row, ensure_ascii=False); done.add(row["id"])
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
assert done == set(EDITS), set(EDITS) - done
print("edited", len(done))
