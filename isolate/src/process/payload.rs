//! A call's values (arguments, result, error) on the wire: postcard, with
//! the checks postcard leaves out.
//!
//! postcard is not self-describing: a struct is its fields in order, with
//! no names and no count. So a field that serde leaves out on the writing
//! side only (`#[serde(skip_serializing_if)]`) shifts every value after it,
//! and the reader decodes the wrong bytes without an error (`{a: None, b:
//! 1, v: [3, 0], w: 9}` arrived as `{a: Some(2), b: 3, v: [], w: 9}`).
//! serde_derive tells the serializer about such a field
//! (`SerializeStruct::skip_field`), and postcard ignores it; [`encode`]
//! writes through a serializer that forwards everything to postcard and
//! refuses that call instead. [`decode`] refuses bytes left over, the trace
//! of a value that was read short.
//!
//! A field skipped unconditionally (`#[serde(skip_serializing)]` alone) is
//! not seen: serde_derive leaves it out without telling the serializer. Only
//! the reader can notice, when the bytes run out or are left over.

use std::cell::Cell;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::ser::{self, Serialize, Serializer};

/// Encodes `value` with postcard; the error says why it cannot be sent
/// faithfully (a field skipped on the writing side, a map or sequence of
/// unknown length, the value's own `Serialize` failing).
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let refused = Cell::new(None);
    let checked = Checked {
        value,
        refused: &refused,
    };
    postcard::to_stdvec(&checked).map_err(|e| refused.take().unwrap_or_else(|| e.to_string()))
}

/// Decodes a `T` that must take exactly `bytes`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!(
            "{} of its {} bytes were left over: the writer's and the reader's shapes differ \
             (a field skipped on one side only?)",
            rest.len(),
            bytes.len()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Why [`encode`] refuses a field that serde skipped while writing.
fn skipped(container: &str, field: &str) -> String {
    format!(
        "field `{field}` of `{container}` was left out by #[serde(skip_serializing_if)], and \
         postcard, which writes no field names, would hand the reader the next field's bytes \
         in its place; skip it on both sides (#[serde(skip)]) or send it always"
    )
}

const UNKNOWN_LENGTH: &str = "a sequence or map of unknown length (as #[serde(flatten)] writes) \
     cannot be written by postcard, which needs the length first";

/// Records why the value is refused (the first reason wins) and returns
/// the serializer's error. postcard's error drops a custom message, hence
/// the cell.
fn refuse<E: ser::Error>(refused: &Cell<Option<String>>, why: impl Display) -> E {
    let first = refused.take().unwrap_or_else(|| why.to_string());
    refused.set(Some(first));
    E::custom("refused")
}

/// A value serialized through [`Checking`].
struct Checked<'a, 'r, T: ?Sized> {
    value: &'a T,
    refused: &'r Cell<Option<String>>,
}

impl<T: Serialize + ?Sized> Serialize for Checked<'_, '_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Checking {
            inner: serializer,
            refused: self.refused,
            name: "",
        })
    }
}

/// Forwards to `inner` (postcard's serializer, or one of its compounds);
/// refuses skipped fields and unknown lengths.
struct Checking<'r, S> {
    inner: S,
    refused: &'r Cell<Option<String>>,
    /// The struct or variant being written, for the refusal's message.
    name: &'static str,
}

impl<'r, S> Checking<'r, S> {
    fn wrap<'a, T: ?Sized>(&self, value: &'a T) -> Checked<'a, 'r, T> {
        Checked {
            value,
            refused: self.refused,
        }
    }
}

macro_rules! forward {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.inner.$method(v)
        })*
    };
}

impl<'r, S: Serializer> Serializer for Checking<'r, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Checking<'r, S::SerializeSeq>;
    type SerializeTuple = Checking<'r, S::SerializeTuple>;
    type SerializeTupleStruct = Checking<'r, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Checking<'r, S::SerializeTupleVariant>;
    type SerializeMap = Checking<'r, S::SerializeMap>;
    type SerializeStruct = Checking<'r, S::SerializeStruct>;
    type SerializeStructVariant = Checking<'r, S::SerializeStructVariant>;

    forward! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_unit_struct(&'static str);
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_some(&value)
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_newtype_struct(name, &value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let value = self.wrap(value);
        self.inner
            .serialize_newtype_variant(name, index, variant, &value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        if len.is_none() {
            return Err(refuse(self.refused, UNKNOWN_LENGTH));
        }
        let refused = self.refused;
        let inner = self.inner.serialize_seq(len)?;
        Ok(Checking {
            inner,
            refused,
            name: "",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let refused = self.refused;
        let inner = self.inner.serialize_tuple(len)?;
        Ok(Checking {
            inner,
            refused,
            name: "",
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let refused = self.refused;
        let inner = self.inner.serialize_tuple_struct(name, len)?;
        Ok(Checking {
            inner,
            refused,
            name,
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let refused = self.refused;
        let inner = self
            .inner
            .serialize_tuple_variant(name, index, variant, len)?;
        Ok(Checking {
            inner,
            refused,
            name: variant,
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        if len.is_none() {
            return Err(refuse(self.refused, UNKNOWN_LENGTH));
        }
        let refused = self.refused;
        let inner = self.inner.serialize_map(len)?;
        Ok(Checking {
            inner,
            refused,
            name: "",
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let refused = self.refused;
        let inner = self.inner.serialize_struct(name, len)?;
        Ok(Checking {
            inner,
            refused,
            name,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let refused = self.refused;
        let inner = self
            .inner
            .serialize_struct_variant(name, index, variant, len)?;
        Ok(Checking {
            inner,
            refused,
            name: variant,
        })
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The compound serializers with one kind of item: each item is checked
/// as it is passed on.
macro_rules! checked_items {
    ($($compound:ident :: $item:ident),* $(,)?) => {$(
        impl<S: ser::$compound> ser::$compound for Checking<'_, S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn $item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
                let value = self.wrap(value);
                self.inner.$item(&value)
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    )*};
}

checked_items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl<S: ser::SerializeMap> ser::SerializeMap for Checking<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        let key = self.wrap(key);
        self.inner.serialize_key(&key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_value(&value)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeStruct> ser::SerializeStruct for Checking<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_field(key, &value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        Err(refuse(self.refused, skipped(self.name, key)))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

impl<S: ser::SerializeStructVariant> ser::SerializeStructVariant for Checking<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_field(key, &value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        Err(refuse(self.refused, skipped(self.name, key)))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Req {
        #[serde(skip_serializing_if = "Option::is_none")]
        a: Option<u8>,
        b: u8,
        v: Vec<u8>,
        w: u8,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Square {
            #[serde(skip_serializing_if = "Option::is_none")]
            side: Option<u8>,
            rest: u8,
        },
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct Inner {
        x: u32,
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct Flat {
        #[serde(flatten)]
        inner: Inner,
        y: u32,
    }

    #[test]
    fn a_field_skipped_while_writing_is_refused_not_shifted() {
        let why = encode(&Req {
            a: None,
            b: 1,
            v: vec![3, 0],
            w: 9,
        })
        .unwrap_err();
        assert!(why.contains("field `a` of `Req`"), "{why}");
        let why = encode(&Shape::Square {
            side: None,
            rest: 1,
        })
        .unwrap_err();
        assert!(why.contains("field `side` of `Square`"), "{why}");
        // Not skipped: sent, and decoded as it was.
        let sent = Req {
            a: Some(4),
            b: 1,
            v: vec![3, 0],
            w: 9,
        };
        assert_eq!(decode::<Req>(&encode(&sent).unwrap()), Ok(sent));
    }

    #[test]
    fn flatten_and_left_over_bytes_are_refused() {
        let why = encode(&Flat {
            inner: Inner { x: 1 },
            y: 2,
        })
        .unwrap_err();
        assert!(why.contains("flatten"), "{why}");
        let why = decode::<u8>(&[1, 2]).unwrap_err();
        assert!(why.contains("left over"), "{why}");
    }

    #[test]
    fn what_postcard_can_write_is_written_as_postcard_writes_it() {
        let value = (
            1_u8,
            -2_i64,
            u128::MAX,
            "text",
            Some(vec![Some(1.5_f64), None]),
            std::collections::BTreeMap::from([(1_u16, 'x')]),
            ((), [7_u32; 3]),
        );
        assert_eq!(encode(&value), Ok(postcard::to_stdvec(&value).unwrap()));
    }
}
