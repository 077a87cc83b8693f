"""The clinical documentation state billing depends on: ICD-10-CM diagnosis codes. Never clinical
content (no note text). Who supervises whom is in a clinician's provider record (``providers``)."""
