#!/usr/bin/env python3
"""Regenerates the fuzz seed corpus (scripts/fuzz/corpus/) from the public vectors.

Seed layout matches FuzzMain.swift: byte 0 selects the target (DecoderRegistry.all order, read from
DecoderRegistry.swift, then the framer kinds), the rest is the payload. Run after changing the registry order.
"""
import json
import pathlib
import re

root = pathlib.Path(__file__).resolve().parents[2]
registry = (root / "Sources/BoothCore/Decoders/DecoderRegistry.swift").read_text()
kinds = re.findall(r'(?:entry\(|Entry\(kind: )"([^"]+)"', registry)
framers = ["cms50", "cms50-recorded", "berrymed", "jumper", "jumper-bp", "yuwell", "viatom-frame"]
profiles = [("plx_continuous_0x2A5F", "2A5F"), ("plx_spot_check_0x2A5E", "2A5E"), ("plx_features_0x2A60", "2A60"),
            ("bp_measurement_0x2A35", "2A35"), ("intermediate_cuff_pressure_0x2A36", "2A36"),
            ("temperature_measurement_0x2A1C", "2A1C"), ("glucose_measurement_0x2A18", "2A18"),
            ("weight_measurement_0x2A9D", "2A9D"), ("racp_0x2A52", "2A52"), ("sfloat", "sfloat"),
            ("float32", "float"), ("contec_cms50dplus_live", "cms50"), ("contec_cms50dplus_recorded", "cms50-recorded"),
            ("berrymed_bci", "berrymed"), ("jumper_jpd500f", "jumper"), ("jumper_jpd_ha120_bp", "jumper-bp"),
            ("yuwell_yx110", "yuwell"), ("viatom_o2ring_read_sensors_payload", "viatom-sensors"),
            ("viatom_o2ring_command_frame", "viatom-frame"), ("viatom_o2ring_response_frame", "viatom-frame")]
# Kinds without a public vector get a hand-made seed.
extra = {"2A34": "47070001" "14f0" "02" "21" "3400", "2A19": "64", "2A2B": "ea070b19152803" "03" "00" "01",
         "2A08": "ea070b19152803", "2A29": "426f6f74680000", "2A1E": "06b00e00fedc070c050b321b04"}

out = root / "scripts/fuzz/corpus"
out.mkdir(parents=True, exist_ok=True)
for old in out.iterdir():
    old.unlink()
vectors = json.loads((root / "Tests/BoothCoreTests/Vectors/public-vectors.json").read_text())
for index, vector in enumerate(vectors):
    kind = next(k for prefix, k in profiles if vector["profile"].startswith(prefix))
    data = bytes.fromhex(vector["hex"])
    (out / f"{index:02d}-{kind}").write_bytes(bytes([kinds.index(kind)]) + data)
    if kind in framers:
        stream = b"\x00\x13" + data + data + b"\x7e" + data
        (out / f"{index:02d}-{kind}-stream").write_bytes(bytes([len(kinds) + framers.index(kind)]) + stream)
for kind, text in extra.items():
    (out / f"x-{kind}").write_bytes(bytes([kinds.index(kind)]) + bytes.fromhex(text))
print(f"{len(list(out.iterdir()))} seeds for {len(kinds)} decoders and {len(framers)} framers")
