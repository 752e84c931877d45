//! Prediction rows as `collect` reads them (`prediction_row` and `member_scan` targets).

/// Checks one prediction row as `collect` reads it: no panic; a row that reads gives output
/// members that make a valid JSON object, with `status` `succeeded` or `failed`, the response
/// copied unchanged and, for a failure, an `error` with a `message`; the same row with its
/// members in reverse order reads the same (Vertex has used two member orders).
pub fn check_prediction_row(data: &[u8]) {
    use batchline::collect::row::{first_text, parse_row, parse_status, Outcome};
    let _ = parse_status(&String::from_utf8_lossy(data));
    let Ok(row) = parse_row(data, Some("batchline_key")) else {
        return;
    };
    for text in [false, true] {
        let mut line = b"{\"line\":1".to_vec();
        line.extend_from_slice(&row.output_members(text));
        line.push(b'}');
        // Valid JSON at any depth (serde_json skips ignored values without recursing) …
        if let Err(e) = serde_json::from_slice::<Box<serde_json::value::RawValue>>(&line) {
            panic!(
                "output members of {:?} are not JSON ({e}): {:?}",
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(&line)
            )
        }
        // … and read as a tree when within serde_json's nesting limit (a response copied as is
        // may nest deeper).
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
            continue;
        };
        let status = v["status"].as_str().expect("a status");
        match &row.outcome {
            Outcome::Succeeded => assert_eq!(status, "succeeded"),
            Outcome::Blocked(_) | Outcome::Failed(_) => {
                assert_eq!(status, "failed");
                assert!(v["error"]["message"].is_string(), "{v}");
            }
        }
        if let (false, Some(r), Outcome::Succeeded) = (text, row.raw.response, &row.outcome) {
            let want: serde_json::Value = serde_json::from_str(r.get()).expect("raw JSON");
            assert_eq!(v["response"], want);
        }
        if text {
            if let (Some(r), Outcome::Succeeded) = (row.raw.response, &row.outcome) {
                assert_eq!(v["text"].as_str(), Some(first_text(r).as_str()));
            }
        }
    }
    // Members in reverse order: the same reading.
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut rev = b"{".to_vec();
        for (i, (k, v)) in map.iter().rev().enumerate() {
            if i > 0 {
                rev.push(b',');
            }
            rev.extend_from_slice(&serde_json::to_vec(k).expect("a string"));
            rev.push(b':');
            rev.extend_from_slice(&serde_json::to_vec(v).expect("a value"));
        }
        rev.push(b'}');
        // A duplicate member: the last one counts, for collect and for serde_json's map alike.
        let again = parse_row(&rev, Some("batchline_key"))
            .unwrap_or_else(|e| panic!("reordered row does not read: {}", e.message));
        assert_eq!(again.outcome, row.outcome);
        assert_eq!(again.usage, row.usage);
        assert_eq!(again.raw.key, row.raw.key);
    }
}

/// collect's member scanner (`collect::members::members`) on arbitrary bytes: no panic; on a JSON
/// object serde_json reads, exactly serde_json's members (names decoded, each value's raw bytes,
/// in order, repeats kept); and it accepts every object serde_json accepts.
pub fn check_member_scan(data: &[u8]) {
    use batchline::collect::members::members;
    use serde_json::value::RawValue;
    let got = members(data);
    struct Ordered<'a>(Vec<(String, &'a RawValue)>);
    impl<'de: 'a, 'a> serde::Deserialize<'de> for Ordered<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
                type Value = Ordered<'a>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<M: serde::de::MapAccess<'de>>(
                    self,
                    mut m: M,
                ) -> Result<Ordered<'a>, M::Error> {
                    let mut v = Vec::new();
                    while let Some(k) = m.next_key::<String>()? {
                        v.push((k, m.next_value::<&'de RawValue>()?));
                    }
                    Ok(Ordered(v))
                }
            }
            d.deserialize_map(V(std::marker::PhantomData))
        }
    }
    let Ok(want) = serde_json::from_slice::<Ordered>(data) else {
        return;
    };
    let got = got.unwrap_or_else(|| {
        panic!(
            "serde_json reads {:?} as an object, the scanner does not",
            String::from_utf8_lossy(data)
        )
    });
    let got: Vec<(String, &[u8])> = got.iter().map(|m| (m.name.to_string(), m.value)).collect();
    let want: Vec<(String, &[u8])> = want
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.get().as_bytes()))
        .collect();
    assert_eq!(got, want, "{:?}", String::from_utf8_lossy(data));
}
