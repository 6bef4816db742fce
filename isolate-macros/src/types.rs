//! Walks over the user's types that the other phases share: what a type
//! borrows, which generics it mentions, whether it is a `Result`.

use std::collections::HashSet;

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{
    GenericArgument, Ident, Lifetime, PathArguments, Type, TypeImplTrait, TypeParamBound, TypePath,
    TypeReference,
};

/// Whether a checked type is an argument or the return type; the messages
/// differ.
#[derive(Clone, Copy)]
pub(crate) enum Position {
    Argument,
    Return,
}

/// The first part of `ty` that borrows for less than `'static`, as an error
/// that says what to take instead. References inside `fn(&T)` and `Fn(&T)`
/// types are higher-ranked, not borrows of the caller's data, and pass.
pub(crate) fn borrow_error(ty: &Type, position: Position) -> Option<syn::Error> {
    let mut finder = BorrowFinder {
        position,
        error: None,
    };
    finder.visit_type(ty);
    finder.error
}

struct BorrowFinder {
    position: Position,
    error: Option<syn::Error>,
}

impl BorrowFinder {
    fn report(&mut self, tokens: &dyn ToTokens, message: String) {
        if self.error.is_none() {
            self.error = Some(syn::Error::new_spanned(tokens, message));
        }
    }

    fn rule(&self) -> &'static str {
        match self.position {
            Position::Argument => {
                "arguments of an isolated function are moved to another thread, so they must be owned"
            }
            Position::Return => {
                "the result of an isolated function is moved back to the caller's thread, so it must be owned"
            }
        }
    }
}

fn is_static(lifetime: Option<&Lifetime>) -> bool {
    lifetime.is_some_and(|l| l.ident == "static")
}

/// A type as the user would write it: `&mut Vec<u8>`, not `& mut Vec < u8 >`.
pub(crate) fn pretty(tokens: &impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (spaced, tight) in [
        ("& ", "&"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
        ("' ", "'"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// What to take instead of `&elem`.
fn owned_hint(reference: &TypeReference) -> String {
    let elem = &*reference.elem;
    let last_ident = match elem {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    if reference.mutability.is_some() {
        let elem = pretty(elem);
        return format!("take `{elem}` by value (and return it if the caller needs it back)");
    }
    match (elem, last_ident.as_deref()) {
        (_, Some("str")) => "take `String` instead (or `Arc<str>` to share it)".to_owned(),
        (_, Some("Path")) => "take `PathBuf` instead".to_owned(),
        (_, Some("OsStr")) => "take `OsString` instead".to_owned(),
        (_, Some("CStr")) => "take `CString` instead".to_owned(),
        (Type::Slice(slice), _) => {
            let item = pretty(&slice.elem);
            format!("take `Vec<{item}>` instead (or `Arc<[{item}]>` to share it)")
        }
        (Type::TraitObject(object), _) => {
            let bounds = pretty(&object.bounds);
            format!("take `Box<dyn {bounds} + Send>` instead (or `Arc<dyn {bounds} + Send + Sync>` to share it)")
        }
        _ => {
            let elem = pretty(elem);
            format!("take `{elem}` by value instead (or `Arc<{elem}>` to share it)")
        }
    }
}

impl<'ast> Visit<'ast> for BorrowFinder {
    fn visit_type_reference(&mut self, reference: &'ast TypeReference) {
        if !is_static(reference.lifetime.as_ref()) {
            let written = pretty(reference);
            let message = format!(
                "`{written}` borrows from the caller, but {}: {}",
                self.rule(),
                owned_hint(reference)
            );
            self.report(reference, message);
            return;
        }
        visit::visit_type_reference(self, reference);
    }

    fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
        if lifetime.ident != "static" {
            let message = format!(
                "`{lifetime}` is a borrow from the caller, but {}: use an owned type, or `'static`",
                self.rule()
            );
            self.report(lifetime, message);
        }
    }

    // `fn(&str)` and `Fn(&str)` bind their own lifetimes.
    fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}

    fn visit_parenthesized_generic_arguments(
        &mut self,
        _: &'ast syn::ParenthesizedGenericArguments,
    ) {
    }

    fn visit_bound_lifetimes(&mut self, _: &'ast syn::BoundLifetimes) {}
}

/// Whether `ty` borrows for less than `'static` anywhere.
pub(crate) fn borrows(ty: &Type) -> bool {
    borrow_error(ty, Position::Argument).is_some()
}

/// Whether `ty` names one of `generics` (or `Self`, when `self_is_generic`),
/// so that its bounds can only be checked where it is used.
pub(crate) fn mentions_generics(
    ty: &Type,
    generics: &HashSet<Ident>,
    self_is_generic: bool,
) -> bool {
    struct Finder<'a> {
        generics: &'a HashSet<Ident>,
        self_is_generic: bool,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_type_path(&mut self, path: &'ast TypePath) {
            if path.qself.is_none() {
                if let Some(first) = path.path.segments.first() {
                    if self.generics.contains(&first.ident)
                        || (self.self_is_generic && first.ident == "Self")
                    {
                        self.found = true;
                    }
                }
            }
            visit::visit_type_path(self, path);
        }
    }
    let mut finder = Finder {
        generics,
        self_is_generic,
        found: false,
    };
    finder.visit_type(ty);
    finder.found
}

/// Whether `ty` may name a parameter of an `impl` block that is out of
/// sight: it mentions `Self`, or a one-word path with no arguments that is
/// not a primitive or a common standard type (`T`, `S`, `Config`).
pub(crate) fn may_name_impl_parameter(ty: &Type) -> bool {
    const CONCRETE: &[&str] = &[
        "bool",
        "char",
        "str",
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "f32",
        "f64",
        "String",
        "PathBuf",
        "OsString",
        "CString",
        "Duration",
        "Instant",
        "SystemTime",
    ];
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_path(&mut self, path: &'ast TypePath) {
            if path.qself.is_none() && path.path.leading_colon.is_none() {
                let segments = &path.path.segments;
                if let Some(first) = segments.first() {
                    if first.ident == "Self"
                        || (segments.len() == 1
                            && first.arguments.is_none()
                            && !CONCRETE.iter().any(|name| first.ident == name))
                    {
                        self.0 = true;
                    }
                }
            }
            visit::visit_type_path(self, path);
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// Whether `ty` names `Self` or one of `params`, the type parameters of an
/// `impl` block read from the source file.
pub(crate) fn names_impl_parameter(ty: &Type, params: &[String]) -> bool {
    struct Finder<'a>(&'a [String], bool);
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_type_path(&mut self, path: &'ast TypePath) {
            if path.qself.is_none() && path.path.leading_colon.is_none() {
                if let Some(first) = path.path.segments.first() {
                    if first.ident == "Self" || self.0.iter().any(|param| first.ident == param) {
                        self.1 = true;
                    }
                }
            }
            visit::visit_type_path(self, path);
        }
    }
    let mut finder = Finder(params, false);
    finder.visit_type(ty);
    finder.1
}

/// Whether `ty` contains `impl Trait`, which cannot be named in a turbofish.
pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// `ty` with `+ Send + 'static` added to every `impl Trait` in it: the
/// sibling needs what crosses threads to be `Send + 'static`, and an
/// anonymous type can only say so in its own bounds.
pub(crate) fn with_send_impl_traits(ty: &Type) -> Type {
    struct AddSend;
    impl VisitMut for AddSend {
        // `&impl Fn(u8) -> bool` becomes `&(impl Fn(u8) -> bool + Send)`:
        // without the parentheses the `+` is ambiguous.
        fn visit_type_mut(&mut self, ty: &mut Type) {
            visit_mut::visit_type_mut(self, ty);
            let elem = match ty {
                Type::Reference(reference) => &mut reference.elem,
                Type::Ptr(pointer) => &mut pointer.elem,
                _ => return,
            };
            if matches!(**elem, Type::ImplTrait(_)) {
                let inner = (**elem).clone();
                **elem = Type::Paren(syn::TypeParen {
                    paren_token: Default::default(),
                    elem: Box::new(inner),
                });
            }
        }

        fn visit_type_impl_trait_mut(&mut self, impl_trait: &mut TypeImplTrait) {
            visit_mut::visit_type_impl_trait_mut(self, impl_trait);
            let span = impl_trait.span();
            impl_trait
                .bounds
                .push(syn::parse_quote_spanned!(span=> ::core::marker::Send));
            impl_trait
                .bounds
                .push(TypeParamBound::Lifetime(Lifetime::new("'static", span)));
        }
    }
    let mut ty = ty.clone();
    AddSend.visit_type_mut(&mut ty);
    ty
}

/// How a return type named `Result` is written.
pub(crate) enum ResultShape<'a> {
    /// `Result<T, E>`: the handle can name `T` and `E` directly.
    Explicit { ok: &'a Type, err: &'a Type },
    /// An alias such as `io::Result<T>` or `fmt::Result`: the error type is
    /// only known through the alias.
    Alias,
}

/// The shape of `ty` if its last path segment is `Result`.
pub(crate) fn result_shape(ty: &Type) -> Option<ResultShape<'_>> {
    let last = last_segment(ty)?;
    if last.ident != "Result" {
        return None;
    }
    match type_arguments(last).as_deref() {
        Some(&[ok, err]) => Some(ResultShape::Explicit { ok, err }),
        _ => Some(ResultShape::Alias),
    }
}

/// For an alias written with one type argument (`io::Result<T>`): `T`, and
/// the alias at `()` (`io::Result<()>`), which names the error type without
/// `T`. Used when `T` holds an `impl Trait`, which a projection such as
/// `<io::Result<T> as FoldResult>::Ok` cannot carry.
pub(crate) fn alias_ok_and_unit(ty: &Type) -> Option<(&Type, Type)> {
    let ok = match type_arguments(last_segment(ty)?)?.as_slice() {
        &[ok] => ok,
        _ => return None,
    };
    let mut unit = ty.clone();
    if let Type::Path(path) = &mut unit {
        if let Some(last) = path.path.segments.last_mut() {
            if let PathArguments::AngleBracketed(arguments) = &mut last.arguments {
                if let Some(GenericArgument::Type(argument)) = arguments.args.first_mut() {
                    *argument = syn::parse_quote!(());
                }
            }
        }
    }
    Some((ok, unit))
}

/// The last segment of a plain path type (`a::b::Name<..>`, not
/// `<T as Trait>::Name`), which is what names it as the user wrote it.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    path.path.segments.last()
}

/// A segment's angle-bracketed arguments, when every one of them is a type.
fn type_arguments(segment: &syn::PathSegment) -> Option<Vec<&Type>> {
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    let types: Vec<&Type> = arguments
        .args
        .iter()
        .filter_map(|argument| match argument {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect();
    (types.len() == arguments.args.len()).then_some(types)
}

/// A parameter that `#[isolated]` supplies itself instead of taking it from
/// the caller, recognised by its type's last path segment (under any path,
/// such as `isolate::Progress<P>`).
#[derive(Clone, Copy)]
pub(crate) enum Supplied<'a> {
    /// `Progress<P>`: the sibling returns a `ProgressHandle<P, ..>`.
    Progress(&'a Type),
    /// `Port<In, Out>`: the sibling starts a long-running worker and returns
    /// a `Worker<In, Out, ..>`.
    Port(&'a Type, &'a Type),
}

/// Recognises `Progress<P>` and `Port<In, Out>`.
pub(crate) fn supplied(ty: &Type) -> Option<Supplied<'_>> {
    let last = last_segment(ty)?;
    let types = type_arguments(last)?;
    match (last.ident.to_string().as_str(), types.as_slice()) {
        ("Progress", &[update]) => Some(Supplied::Progress(update)),
        ("Port", &[inbox, outbox]) => Some(Supplied::Port(inbox, outbox)),
        _ => None,
    }
}
