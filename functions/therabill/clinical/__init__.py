"""The clinical documentation state billing depends on: ICD-10-CM diagnosis codes and who
supervises whom. Never clinical content (no note text)."""
